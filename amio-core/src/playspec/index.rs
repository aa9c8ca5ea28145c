//! The timeline index: which entries sound in a stretch of positions.
//!
//! Built once per playspec on the control side, so that the audio thread pays
//! for the occurrences that sound in a period, not for the number of entries.
//!
//! Entries are split three ways:
//! - **once** (repeat 0): grouped into length classes (`len < 2^c`), each
//!   sorted by start. An occurrence `[t, t + len)` meets `[p0, p1)` iff
//!   `p0 - len < t < p1`; within a class `p0 - 2^c < t < p1` bounds the
//!   binary search and an exact test filters the few extra.
//! - **always** (repeat `r > 0` with `len >= r`): the copies tile the whole
//!   timeline, so the entry sounds everywhere.
//! - **loops** (repeat `r > 0` with `len < r`): grouped by `r`, in length
//!   classes sorted by phase `t mod r`. A query shorter than `r` maps onto the
//!   phase circle; only the copies starting at `phase - r`, `phase` and
//!   `phase + r` can meet it.
//!
//! A query lists candidate entry indices, possibly twice; the caller sorts
//! and deduplicates them, so the mixing order never depends on the query.
//!
//! [`TimelineIndex::next_arrival`] answers the other question the mixer
//! asks: where the next occurrence of an entry that is not **always**
//! begins. Until then, the entries that sound are the ones sounding now and
//! the always ones, so the mixer keeps its plan and asks again only when it
//! gets there.

use crate::playspec::Entry;

pub(crate) struct TimelineIndex {
    once: Vec<Class>,
    always: Vec<u32>,
    loops: Vec<LoopGroup>,
    capacity: usize,
}

/// An occurrence to index: (start or phase, length, entry index).
type Item = (i64, u64, u32);

/// Entries of one length class: lengths below `bound`, sorted by `starts`.
struct Class {
    bound: i128,
    starts: Vec<i64>,
    lens: Vec<u64>,
    entries: Vec<u32>,
}

struct LoopGroup {
    repeat: i64,
    /// Classes over phases `t mod repeat`.
    classes: Vec<Class>,
}

impl Class {
    fn build(mut items: Vec<Item>) -> Vec<Class> {
        // Sort by (class, start, entry) and cut into classes.
        let class_of = |len: u64| 64 - len.leading_zeros();
        items.sort_unstable_by_key(|&(start, len, entry)| (class_of(len), start, entry));
        let mut classes: Vec<Class> = Vec::new();
        for (start, len, entry) in items {
            let c = class_of(len);
            let bound = 1i128 << c;
            if classes.last().is_none_or(|k| k.bound != bound) {
                classes.push(Class {
                    bound,
                    starts: Vec::new(),
                    lens: Vec::new(),
                    entries: Vec::new(),
                });
            }
            if let Some(k) = classes.last_mut() {
                k.starts.push(start);
                k.lens.push(len);
                k.entries.push(entry);
            }
        }
        classes
    }

    /// Pushes the entries with an item `[x + shift, x + shift + len)` that
    /// meets `[lo, hi)`.
    fn query(&self, lo: i128, hi: i128, shift: i128, out: &mut Vec<u32>) {
        let first = self
            .starts
            .partition_point(|&t| i128::from(t) + shift <= lo - self.bound);
        let last = self.starts.partition_point(|&t| i128::from(t) + shift < hi);
        for i in first..last.max(first) {
            if i128::from(self.starts[i]) + shift + i128::from(self.lens[i]) > lo {
                out.push(self.entries[i]);
            }
        }
    }

    /// The smallest start `>= x`, if any.
    fn next_start(&self, x: i64) -> Option<i64> {
        let i = self.starts.partition_point(|&t| t < x);
        self.starts.get(i).copied()
    }
}

impl TimelineIndex {
    pub(crate) fn build(entries: &[Entry]) -> TimelineIndex {
        let mut once = Vec::new();
        let mut always = Vec::new();
        let mut loops: Vec<(i64, Vec<Item>)> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let len = e.length();
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            if len == 0 {
                continue; // never sounds
            }
            if e.repeat == 0 {
                once.push((e.play_at, len, i));
            } else if len >= e.repeat.unsigned_abs() {
                always.push(i);
            } else {
                let phase = e.play_at.rem_euclid(e.repeat);
                match loops.iter_mut().find(|(r, _)| *r == e.repeat) {
                    Some((_, items)) => items.push((phase, len, i)),
                    None => loops.push((e.repeat, vec![(phase, len, i)])),
                }
            }
        }
        let loop_entries: usize = loops.iter().map(|(_, items)| items.len()).sum();
        let capacity = once.len() + always.len() + 3 * loop_entries;
        TimelineIndex {
            once: Class::build(once),
            always,
            loops: loops
                .into_iter()
                .map(|(repeat, items)| LoopGroup {
                    repeat,
                    classes: Class::build(items),
                })
                .collect(),
            capacity,
        }
    }

    /// The most candidates one query can push: the capacity the caller's
    /// buffer needs so that [`TimelineIndex::query`] never allocates.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Pushes onto `out` the index of every entry with an occurrence that
    /// meets positions `[p0, p0 + n)`, possibly more than once. Pushes at most
    /// [`TimelineIndex::capacity`] items. Real-time safe when `out` has that
    /// much spare capacity.
    pub(crate) fn query(&self, p0: i64, n: u64, out: &mut Vec<u32>) {
        let lo = i128::from(p0);
        let hi = lo + i128::from(n);
        for class in &self.once {
            class.query(lo, hi, 0, out);
        }
        out.extend_from_slice(&self.always);
        for group in &self.loops {
            let r = i128::from(group.repeat);
            if i128::from(n) >= r {
                for class in &group.classes {
                    out.extend_from_slice(&class.entries);
                }
                continue;
            }
            // Map [p0, p0 + n) onto [q0, q1) with q0 = p0 mod r; q1 < 2r.
            let q0 = i128::from(p0.rem_euclid(group.repeat));
            let q1 = q0 + i128::from(n);
            for class in &group.classes {
                for m in [-1, 0, 1] {
                    class.query(q0, q1, m * r, out);
                }
            }
        }
    }

    /// The next *arrival* from `x`: the first position `>= x` at which an
    /// occurrence starts of a sounding entry (one with frames) that does
    /// not sound everywhere (the **always** entries sound at every
    /// position, so what sounds never changes by their starts); `None` if
    /// none starts from `x` to the end of the timeline (`i64::MAX`). One
    /// binary search per class and one division per repeat group: cheap,
    /// but not free, so the mixer asks only when it reaches the last
    /// answer.
    pub(crate) fn next_arrival(&self, x: i128) -> Option<i64> {
        let x = match i64::try_from(x) {
            Ok(x) => x,
            Err(_) if x < 0 => i64::MIN,
            Err(_) => return None, // past the end of the timeline
        };
        let once = self.once.iter().filter_map(|c| c.next_start(x));
        let loops = self.loops.iter().flat_map(|group| {
            let q = x.rem_euclid(group.repeat);
            group.classes.iter().filter_map(move |class| {
                // The first phase >= q this cycle, else the first one of
                // the next cycle.
                let phase = class
                    .next_start(q)
                    .or_else(|| class.starts.first().map(|&p| p + group.repeat))?;
                i64::try_from(i128::from(x) - i128::from(q) + i128::from(phase)).ok()
            })
        });
        once.chain(loops).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::Clip;
    use proptest::prelude::*;

    /// Reference: does entry `e` have an occurrence meeting [p0, p0 + n)?
    fn sounds(e: &Entry, p0: i64, n: u64) -> bool {
        let len = i128::from(e.length());
        if len == 0 || n == 0 {
            return false;
        }
        let (lo, hi) = (i128::from(p0), i128::from(p0) + i128::from(n));
        let t = i128::from(e.play_at);
        if e.repeat == 0 {
            return t < hi && t + len > lo;
        }
        let r = i128::from(e.repeat);
        // k from ceil((lo - t - len + 1) / r) to floor((hi - 1 - t) / r).
        let k_lo =
            (lo - t - len + 1).div_euclid(r) + i128::from((lo - t - len + 1).rem_euclid(r) != 0);
        let k_hi = (hi - 1 - t).div_euclid(r);
        k_lo <= k_hi
    }

    fn entries(spec: &[(i64, u64, i64)]) -> Vec<Entry> {
        let clip = Clip::from_interleaved(48000, 1, vec![0.0; 4096]).unwrap();
        spec.iter()
            .map(|&(at, len, repeat)| {
                Entry::new(clip.clone(), vec![1.0])
                    .range(0..len)
                    .play_at(at)
                    .repeat(repeat)
            })
            .collect()
    }

    fn check(es: &[Entry], p0: i64, n: u64) {
        let index = TimelineIndex::build(es);
        let mut out = Vec::with_capacity(index.capacity());
        let cap = out.capacity();
        index.query(p0, n, &mut out);
        assert!(out.len() <= index.capacity());
        assert_eq!(out.capacity(), cap, "query reallocated");
        out.sort_unstable();
        out.dedup();
        let want: Vec<u32> = (0..es.len() as u32)
            .filter(|&i| sounds(&es[i as usize], p0, n))
            .collect();
        assert_eq!(out, want, "p0 {p0} n {n}");
    }

    #[test]
    fn finds_exactly_what_sounds() {
        let es = entries(&[
            (0, 100, 0),
            (50, 10, 0),
            (-30, 40, 0),
            (1000, 4000, 0),
            (7, 5, 20),
            (19, 5, 20),
            (3, 30, 20),
            (-1, 0, 0),
            (0, 1, 3),
        ]);
        for p0 in -100..200 {
            for n in [1, 2, 7, 19, 20, 21, 64] {
                check(&es, p0, n);
            }
        }
        check(&es, i64::MAX - 10, 5);
        check(&es, i64::MIN, 64);
    }

    /// Reference: the first start `>= x` of an occurrence of a sounding
    /// entry that does not sound everywhere (repeat 0 or longer than its
    /// length), within the timeline.
    fn next_arrival_reference(es: &[Entry], x: i64) -> Option<i64> {
        es.iter()
            .filter(|e| e.length() > 0)
            .filter(|e| e.repeat == 0 || e.length() < e.repeat.unsigned_abs())
            .filter_map(|e| {
                let (t, x) = (i128::from(e.play_at), i128::from(x));
                if e.repeat == 0 {
                    return (t >= x).then_some(t);
                }
                let r = i128::from(e.repeat);
                let k = (x - t).div_euclid(r) + i128::from((x - t).rem_euclid(r) != 0);
                Some(t + k * r)
            })
            .filter_map(|t| i64::try_from(t).ok())
            .min()
    }

    #[test]
    fn next_arrival_at_the_ends_of_the_timeline() {
        let es = entries(&[(i64::MAX - 3, 2, 0), (5, 3, 7), (-9, 20, 10)]);
        let index = TimelineIndex::build(&es);
        for x in [
            i64::MIN,
            i64::MIN + 1,
            -10,
            0,
            5,
            6,
            i64::MAX - 10,
            i64::MAX,
        ] {
            assert_eq!(
                index.next_arrival(i128::from(x)),
                next_arrival_reference(&es, x),
                "x {x}"
            );
        }
        assert_eq!(index.next_arrival(i128::from(i64::MAX) + 1), None);
        let once = entries(&[(i64::MAX - 3, 2, 0)]);
        assert_eq!(
            TimelineIndex::build(&once).next_arrival(i128::from(i64::MAX - 2)),
            None
        );
    }

    proptest! {
        #[test]
        fn next_arrival_matches_reference(
            spec in prop::collection::vec((-500i64..500, 0u64..300, prop_oneof![Just(0i64), 1i64..400]), 0..40),
            x in -2000i64..2000,
        ) {
            let es = entries(&spec);
            prop_assert_eq!(TimelineIndex::build(&es).next_arrival(i128::from(x)), next_arrival_reference(&es, x));
        }

        #[test]
        fn index_matches_reference(
            spec in prop::collection::vec((-500i64..500, 0u64..300, prop_oneof![Just(0i64), 1i64..400]), 0..40),
            p0 in -2000i64..2000,
            n in 1u64..700,
        ) {
            check(&entries(&spec), p0, n);
        }
    }
}
