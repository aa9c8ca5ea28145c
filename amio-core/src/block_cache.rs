//! The block cache of streamed clips (issue 16): blocks of samples read
//! from disk by a reader thread and handed to the audio thread without a
//! lock, a wait or an allocation on the audio side.
//!
//! **Shape.** A fixed pool of slots, each room for the cache's slot size
//! samples, allocated when the cache is made (so the memory is bounded and
//! known), and a *map*: the ready blocks, sorted by (file id, block), each
//! naming its slot. The audio thread finds a block by a binary search of
//! the map it took at the start of its period ([`CacheReader::begin`]).
//! There is one [`CacheReader`], and `begin` borrows it mutably, so at
//! most one period reads at a time.
//!
//! **Publication.** One writer (the reader thread, through a
//! [`CacheWriter`]) fills free slots, then publishes a new map holding
//! them (and whichever old blocks it keeps) with one atomic pointer swap.
//! A slot is written only while no published map names it, and data
//! written before the swap is seen by any period that takes the new map
//! (the swap releases, the period's load acquires).
//!
//! **Reclamation.** The audio thread counts `epoch` up once when a period
//! starts reading and once when it is done, so `epoch` is odd exactly while
//! it may hold a map (a [`Reading`] that was forgotten instead of dropped
//! is closed by the next `begin`, which its borrow has ended by then). After a swap the writer reads `epoch`: even, and no
//! period holds the old map (any later period takes the new one); odd,
//! and the old map, with the slots only it names, is freed once `epoch` has
//! moved on. Both steps are sequentially consistent, so the two orders
//! cannot disagree. The audio thread never frees: old maps are dropped by
//! the writer, and what remains by the cache's own drop, when no thread
//! can read it.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// The samples a slot holds: 64 KiB.
pub(crate) const SLOT_SAMPLES: usize = 1 << 14;

/// A streamed clip of `channels` channels is cut into blocks of
/// `1 << block_shift(channels)` frames: the most a power of two of its
/// frames that fits in a slot (at least one frame, for channel counts up
/// to [`SLOT_SAMPLES`]).
pub(crate) fn block_shift(channels: usize) -> u32 {
    (SLOT_SAMPLES / channels.max(1)).max(1).ilog2()
}

/// One ready block: the `block`-th block of the file `file`, whose
/// samples are the first `len` of slot `slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ready {
    file: u64,
    block: u64,
    slot: u32,
    len: u32,
}

/// The ready blocks, sorted by (file, block).
#[derive(Debug, Default)]
struct BlockMap {
    ready: Vec<Ready>,
}

impl BlockMap {
    fn find(&self, file: u64, block: u64) -> Option<Ready> {
        self.ready
            .binary_search_by(|r| (r.file, r.block).cmp(&(file, block)))
            .ok()
            .map(|i| self.ready[i])
    }
}

/// Slots and the published map, shared by the audio thread and the
/// writer.
pub(crate) struct BlockCache {
    /// `slots * slot_samples` samples; slot `i` is
    /// `[i * slot_samples, (i + 1) * slot_samples)`.
    samples: Box<[UnsafeCell<f32>]>,
    slot_samples: usize,
    slots: usize,
    /// The map periods take; always one of `maps`.
    map: AtomicPtr<BlockMap>,
    /// Odd while the audio thread may hold a map. Written only by the one
    /// [`CacheReader`].
    epoch: AtomicU64,
    /// Every map not yet freed, the published one among them, each from
    /// `Box::into_raw` (so moving the list moves no map). Only the writer
    /// and the drop touch it; the audio thread never locks it.
    maps: Mutex<Vec<NonNull<BlockMap>>>,
}

// SAFETY: the samples behind the `UnsafeCell`s are written only by the
// one writer, and only in slots no published map names (so no period
// reads them: see the module docs for why none still holds an older map
// naming them); they are read by periods only through a map published
// after the write, whose swap (SeqCst) orders the write before the read.
// The maps behind the pointers are never changed once published and are
// freed only by the writer (after reclamation) or by the drop. Every other
// field is atomic or a mutex. The cache lives in an `Arc`, so both sides
// keep it alive for as long as either uses it.
unsafe impl Sync for BlockCache {}
// SAFETY: as above; the maps the pointers own belong to no thread.
unsafe impl Send for BlockCache {}

impl Drop for BlockCache {
    fn drop(&mut self) {
        let maps = std::mem::take(self.maps.get_mut().unwrap_or_else(|e| e.into_inner()));
        for map in maps {
            // SAFETY: every pointer in `maps` came from `Box::into_raw` and
            // is freed once: here, when no thread can hold the cache.
            drop(unsafe { Box::from_raw(map.as_ptr()) });
        }
    }
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("slots", &self.slots)
            .field("slot_samples", &self.slot_samples)
            .finish()
    }
}

impl BlockCache {
    /// A cache of `slots` slots of `slot_samples` samples each (refused,
    /// never an abort, when that does not fit in memory or is more than
    /// 2^32 slots): its one reader (the audio thread's side) and its one
    /// writer.
    pub(crate) fn create(slots: usize, slot_samples: usize) -> Result<(CacheReader, CacheWriter)> {
        let too_big = || Error::Argument {
            argument: "streaming cache",
            rule: format!("{slots} slots of {slot_samples} samples do not fit in memory"),
        };
        if u32::try_from(slots).is_err() || u32::try_from(slot_samples).is_err() {
            return Err(too_big());
        }
        let total = slots.checked_mul(slot_samples).ok_or_else(too_big)?;
        let mut samples = Vec::new();
        samples.try_reserve_exact(total).map_err(|_| too_big())?;
        samples.resize_with(total, || UnsafeCell::new(0.0f32));
        let first = NonNull::from(Box::leak(Box::<BlockMap>::default()));
        let cache = Arc::new(BlockCache {
            samples: samples.into_boxed_slice(),
            slot_samples,
            slots,
            map: AtomicPtr::new(first.as_ptr()),
            epoch: AtomicU64::new(0),
            maps: Mutex::new(vec![first]),
        });
        let writer = CacheWriter {
            cache: Arc::clone(&cache),
            free: (0..slots as u32).rev().collect(),
            current: Vec::new(),
            retired: Vec::new(),
        };
        let reader = CacheReader {
            cache: Arc::clone(&writer.cache),
            epoch: 0,
        };
        Ok((reader, writer))
    }

    /// The samples of slot `slot`, its first `len`.
    ///
    /// # Safety
    /// No writer may write the slot while the slice lives: the caller holds
    /// a map that names the slot.
    unsafe fn slot(&self, slot: u32, len: u32) -> &[f32] {
        let at = slot as usize * self.slot_samples;
        let cells = &self.samples[at..at + len as usize];
        // SAFETY: `UnsafeCell<f32>` has the layout of `f32`; the caller
        // promises no write to these cells while the borrow lives (the
        // borrow is tied to `self`).
        unsafe { std::slice::from_raw_parts(cells.as_ptr().cast::<f32>(), cells.len()) }
    }
}

/// The audio thread's side of a cache: there is one, made with it.
pub(crate) struct CacheReader {
    cache: Arc<BlockCache>,
    /// The value it last stored in `cache.epoch`.
    epoch: u64,
}

impl std::fmt::Debug for CacheReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheReader")
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl CacheReader {
    /// Starts a period's reading: the blocks ready now stay readable until
    /// the [`Reading`] is dropped. Audio thread: an atomic store and load,
    /// no allocation, no lock.
    pub(crate) fn begin(&mut self) -> Reading<'_> {
        // A forgotten Reading left the epoch odd; its borrow has ended.
        self.epoch += 1 + (self.epoch & 1);
        self.cache.epoch.store(self.epoch, Ordering::SeqCst);
        let map = self.cache.map.load(Ordering::SeqCst);
        // SAFETY: `map` is one of `cache.maps` (from `Box::into_raw`),
        // which the writer frees only after `epoch` shows no period holds
        // it (module docs), and the `Arc` keeps the cache alive; this is
        // the only reader and `&mut self` allows one period at a time.
        // Maps are never changed once published.
        let map = unsafe { &*map };
        Reading { reader: self, map }
    }
}

/// A period's view of the ready blocks (see [`CacheReader::begin`]).
pub(crate) struct Reading<'a> {
    reader: &'a mut CacheReader,
    map: &'a BlockMap,
}

impl Reading<'_> {
    /// The samples of block `block` of file `file`, if it is ready. Audio
    /// thread: a binary search, no allocation.
    pub(crate) fn block(&self, file: u64, block: u64) -> Option<&[f32]> {
        let ready = self.map.find(file, block)?;
        // SAFETY: `self.map` names the slot, and the writer writes no slot
        // a map some period may still hold names (module docs) until this
        // `Reading` is dropped, which ends the borrow.
        Some(unsafe { self.reader.cache.slot(ready.slot, ready.len) })
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.reader.epoch += 1;
        self.reader
            .cache
            .epoch
            .store(self.reader.epoch, Ordering::SeqCst);
    }
}

/// A map replaced by a newer one, and the slots only it named: both freed
/// once no period holds it.
struct Retired {
    /// The map's address (only compared, never followed).
    map: usize,
    slots: Vec<u32>,
    /// `epoch` read after the swap.
    epoch: u64,
}

/// The one writer of a [`BlockCache`]: fills slots and publishes maps. Not
/// for the audio thread (it allocates and locks).
pub(crate) struct CacheWriter {
    cache: Arc<BlockCache>,
    /// Slots no map names.
    free: Vec<u32>,
    /// What the published map holds (a copy the writer edits).
    current: Vec<Ready>,
    retired: Vec<Retired>,
}

impl std::fmt::Debug for CacheWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheWriter")
            .field("ready", &self.current.len())
            .field("free", &self.free.len())
            .finish()
    }
}

impl CacheWriter {
    /// Whether block `block` of file `file` is in the published map.
    pub(crate) fn is_ready(&self, file: u64, block: u64) -> bool {
        self.current
            .binary_search_by(|r| (r.file, r.block).cmp(&(file, block)))
            .is_ok()
    }

    /// Whether the published map holds a block for which `keep` says no.
    pub(crate) fn holds_other_than(&self, keep: impl Fn(u64, u64) -> bool) -> bool {
        self.current.iter().any(|r| !keep(r.file, r.block))
    }

    /// Slots free now, after freeing what no period holds any more.
    pub(crate) fn free_slots(&mut self) -> usize {
        self.reclaim();
        self.free.len()
    }

    /// Publishes a new map: the ready blocks for which `keep` says yes, and
    /// `add`'s blocks, each copied into a free slot (at most
    /// the cache's slot size samples each; longer is refused). Adds
    /// as many as there are free slots, in order, and returns how many.
    pub(crate) fn publish(
        &mut self,
        keep: impl Fn(u64, u64) -> bool,
        add: &[(u64, u64, &[f32])],
    ) -> Result<usize> {
        self.reclaim();
        let cache = Arc::clone(&self.cache);
        if let Some((file, block, data)) = add.iter().find(|a| a.2.len() > cache.slot_samples) {
            return Err(Error::Argument {
                argument: "streaming cache",
                rule: format!(
                    "block {block} of file {file} has {} samples, more than a slot's {}",
                    data.len(),
                    cache.slot_samples
                ),
            });
        }
        let (kept, dropped): (Vec<Ready>, Vec<Ready>) =
            self.current.iter().partition(|r| keep(r.file, r.block));
        let mut next = kept;
        let mut added = 0;
        for &(file, block, data) in add {
            if next.iter().any(|r| (r.file, r.block) == (file, block)) {
                continue; // already there
            }
            let Some(slot) = self.free.pop() else { break };
            let at = slot as usize * cache.slot_samples;
            for (cell, &x) in cache.samples[at..at + data.len()].iter().zip(data) {
                // SAFETY: `slot` is free: no published map names it and no
                // period still holds one that did (`reclaim`), so no
                // thread reads it while it is written; the publication
                // below orders this write before any read.
                unsafe { *cell.get() = x };
            }
            next.push(Ready {
                file,
                block,
                slot,
                len: data.len() as u32,
            });
            added += 1;
        }
        next.sort_unstable_by_key(|r| (r.file, r.block));
        let map = NonNull::from(Box::leak(Box::new(BlockMap {
            ready: next.clone(),
        })));
        cache
            .maps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(map);
        let ptr = map.as_ptr();
        let old = cache.map.swap(ptr, Ordering::SeqCst);
        let epoch = cache.epoch.load(Ordering::SeqCst);
        self.current = next;
        self.retired.push(Retired {
            map: old as usize,
            slots: dropped.iter().map(|r| r.slot).collect(),
            epoch,
        });
        self.reclaim();
        Ok(added)
    }

    /// Frees the retired maps (and their slots) no period holds any more.
    fn reclaim(&mut self) {
        let now = self.cache.epoch.load(Ordering::SeqCst);
        let (done, wait): (Vec<Retired>, Vec<Retired>) = std::mem::take(&mut self.retired)
            .into_iter()
            .partition(|r| r.epoch.is_multiple_of(2) || now != r.epoch);
        self.retired = wait;
        if done.is_empty() {
            return;
        }
        let mut maps = self.cache.maps.lock().unwrap_or_else(|e| e.into_inner());
        for r in done {
            if let Some(i) = maps.iter().position(|m| m.as_ptr() as usize == r.map) {
                let map = maps.swap_remove(i);
                // SAFETY: from `Box::into_raw`, removed from `maps` so
                // freed once, and no period holds it (the epoch test
                // above; module docs).
                drop(unsafe { Box::from_raw(map.as_ptr()) });
            }
            self.free.extend(r.slots);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn data(file: u64, block: u64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (file * 1_000_003 + block * 1_009 + i as u64) as f32)
            .collect()
    }

    #[test]
    fn published_blocks_are_found_with_their_data_and_dropped_ones_are_not() {
        let (mut reader, mut w) = BlockCache::create(4, 8).unwrap();
        {
            let r = reader.begin();
            assert!(r.block(1, 0).is_none());
        }
        let (a, b) = (data(1, 0, 8), data(1, 1, 5));
        assert_eq!(
            w.publish(|_, _| true, &[(1, 0, &a), (1, 1, &b)]).unwrap(),
            2
        );
        {
            let r = reader.begin();
            assert_eq!(r.block(1, 0), Some(&a[..]));
            assert_eq!(r.block(1, 1), Some(&b[..]));
            assert_eq!(r.block(2, 0), None);
        }
        assert!(w.is_ready(1, 1));
        w.publish(|_, block| block != 0, &[]).unwrap();
        let r = reader.begin();
        assert_eq!(r.block(1, 0), None);
        assert_eq!(r.block(1, 1), Some(&b[..]));
        drop(r);
        // The dropped slot is free again (no period held the old map).
        assert_eq!(w.free_slots(), 3);
    }

    #[test]
    fn a_slot_a_period_may_still_read_is_not_reused_until_it_is_done() {
        let (mut reader, mut w) = BlockCache::create(1, 4).unwrap();
        let a = data(1, 0, 4);
        w.publish(|_, _| true, &[(1, 0, &a)]).unwrap();
        let r = reader.begin();
        let held = r.block(1, 0).unwrap();
        // The writer drops block 0 and wants the slot for another: it is
        // not free while the period holds the map naming it.
        let b = data(2, 0, 4);
        assert_eq!(w.publish(|_, _| false, &[(2, 0, &b)]).unwrap(), 0);
        assert_eq!(w.free_slots(), 0);
        assert_eq!(held, &a[..]);
        drop(r);
        assert_eq!(w.free_slots(), 1);
        assert_eq!(w.publish(|_, _| false, &[(2, 0, &b)]).unwrap(), 1);
        assert_eq!(reader.begin().block(2, 0), Some(&b[..]));
    }

    /// The audio side (begin, look up, read, end) under the allocation
    /// guard: nothing allocated or freed, found or not.
    #[test]
    fn the_audio_side_does_not_allocate() {
        let (mut reader, mut w) = BlockCache::create(64, 512).unwrap();
        let blocks: Vec<Vec<f32>> = (0..64).map(|b| data(5, b, 512)).collect();
        let add: Vec<(u64, u64, &[f32])> = (0..64u64)
            .map(|b| (5, b, &blocks[b as usize][..]))
            .collect();
        w.publish(|_, _| true, &add).unwrap();
        let before = crate::rt_guard::violations();
        let mut sum = 0.0f32;
        {
            let _audio = crate::rt_guard::enter();
            for period in 0..1_000u64 {
                let r = reader.begin();
                for block in period % 70..period % 70 + 8 {
                    if let Some(s) = r.block(5, block) {
                        sum += s[block as usize % 512];
                    }
                }
            }
        }
        assert_eq!(crate::rt_guard::violations(), before, "sum {sum}");
        assert!(sum > 0.0);
    }

    /// A `Reading` forgotten instead of dropped leaves the epoch odd; the
    /// next period still counts as a new one, so what the forgotten one
    /// held is freed while the new one's map stays alive.
    #[test]
    fn a_forgotten_reading_does_not_let_a_held_map_be_freed() {
        let (mut reader, mut w) = BlockCache::create(2, 4).unwrap();
        let (a, b) = (data(1, 0, 4), data(2, 0, 4));
        w.publish(|_, _| true, &[(1, 0, &a)]).unwrap();
        std::mem::forget(reader.begin());
        let r = reader.begin();
        assert_eq!(r.block(1, 0), Some(&a[..]));
        // Dropping block (1, 0) retires the map this period holds: its slot
        // stays taken while the period lasts.
        assert_eq!(w.publish(|_, _| false, &[(2, 0, &b)]).unwrap(), 1);
        assert_eq!(w.free_slots(), 0);
        assert_eq!(r.block(1, 0), Some(&a[..]));
        drop(r);
        assert_eq!(w.free_slots(), 1);
    }

    #[test]
    fn too_big_is_refused_not_aborted() {
        assert!(BlockCache::create(usize::MAX / 2, 4).is_err());
        assert!(BlockCache::create(1 << 20, 1 << 30).is_err());
        let (_reader, mut w) = BlockCache::create(1, 2).unwrap();
        let long = [0.0f32; 3];
        let err = w.publish(|_, _| true, &[(7, 9, &long)]).unwrap_err();
        assert!(err.to_string().contains("block 9 of file 7"), "{err}");
    }

    /// A reader thread publishing and dropping blocks as fast as it can
    /// while an "audio" thread reads: every block found holds exactly its
    /// own data (a slot reused under a reader would show another's), and
    /// the audio thread finds blocks.
    #[test]
    fn concurrent_readers_never_see_a_slot_being_reused() {
        let (mut reader, mut w) = BlockCache::create(8, 256).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let audio = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let (mut periods, mut found) = (0u64, 0u64);
                // Until stopped and some block was seen: the writer leaves
                // its last four published, so a thread the scheduler kept
                // off the CPU while the writer ran still sees them. The
                // minute is a hang guard.
                let began = std::time::Instant::now();
                while !(stop.load(Ordering::Relaxed) && found > 0)
                    && began.elapsed() < std::time::Duration::from_secs(60)
                {
                    let r = reader.begin();
                    for block in 0..16 {
                        if let Some(s) = r.block(3, block) {
                            assert_eq!(s, &data(3, block, 256)[..], "block {block}");
                            found += 1;
                        }
                    }
                    drop(r);
                    periods += 1;
                }
                (periods, found)
            })
        };
        let blocks: Vec<Vec<f32>> = (0..16).map(|b| data(3, b, 256)).collect();
        for round in 0..20_000u64 {
            let lo = round % 16;
            let want: Vec<(u64, u64, &[f32])> = (lo..lo + 4)
                .map(|b| (3, b % 16, &blocks[(b % 16) as usize][..]))
                .collect();
            w.publish(|_, b| (lo..lo + 4).any(|x| x % 16 == b), &want)
                .unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        let (periods, found) = audio.join().unwrap();
        assert!(
            periods > 0 && found > 0,
            "{periods} periods, {found} blocks"
        );
    }
}
