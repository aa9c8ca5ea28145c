//! The inner loops of mixing, in one portable version and in wide-vector
//! versions for the x86-64 CPUs that have them, chosen at run time
//! ([`MixKernel`]).
//!
//! Every version computes the same thing the same way: each output sample
//! gets `out + gain * x` (a multiply rounded to f32, then an add rounded to
//! f32; never a fused multiply-add), sample by sample, in the order the
//! caller calls them. Vector lanes hold different output samples, never
//! partial sums of one, so the versions agree to the bit and the output
//! stays independent of the block size (SPEC.md, "One frame of the
//! engine").

/// Which inner loops mix and clamp ([`crate::Config::mix_kernel`]).
///
/// Every kernel gives bit-identical output; they differ only in speed.
/// Choosing one the CPU lacks is refused when the interface is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum MixKernel {
    /// The fastest kernel this CPU has (AVX-512, else AVX2, else baseline).
    #[default]
    Auto,
    /// Portable loops: whatever the compiler's target baseline gives (SSE2
    /// on x86-64).
    Baseline,
    /// 256-bit AVX2 loops (x86-64 CPUs with AVX2).
    Avx2,
    /// 512-bit AVX-512 loops (x86-64 CPUs with AVX-512F and AVX2).
    Avx512,
}

impl MixKernel {
    /// Every kernel that can be chosen, [`MixKernel::Auto`] first.
    pub const ALL: [MixKernel; 4] = [
        MixKernel::Auto,
        MixKernel::Baseline,
        MixKernel::Avx2,
        MixKernel::Avx512,
    ];

    /// The kernel's name, as configurations spell it: `auto`, `baseline`,
    /// `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            MixKernel::Auto => "auto",
            MixKernel::Baseline => "baseline",
            MixKernel::Avx2 => "avx2",
            MixKernel::Avx512 => "avx512",
        }
    }

    /// The kernel named `name` (see [`MixKernel::name`]).
    pub fn from_name(name: &str) -> Option<MixKernel> {
        MixKernel::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether this CPU can run the kernel ([`MixKernel::Auto`] always can).
    pub fn is_available(self) -> bool {
        match self {
            MixKernel::Auto | MixKernel::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            MixKernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            // The AVX-512 kernel uses the AVX2 loops where 512 bits do not
            // pay (mono to stereo), so it needs both.
            MixKernel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
            }
            #[cfg(not(target_arch = "x86_64"))]
            MixKernel::Avx2 | MixKernel::Avx512 => false,
        }
    }

    /// The concrete kernel this choice runs: [`MixKernel::Auto`] becomes the
    /// fastest available one; another kernel is itself if available, else
    /// `None`.
    pub fn resolve(self) -> Option<MixKernel> {
        match self {
            MixKernel::Auto => Some(
                [MixKernel::Avx512, MixKernel::Avx2]
                    .into_iter()
                    .find(|k| k.is_available())
                    .unwrap_or(MixKernel::Baseline),
            ),
            k => k.is_available().then_some(k),
        }
    }
}

/// A kernel that [`MixKernel::resolve`] returned: the CPU has it. Only such
/// a kernel reaches the loops below, which is what makes their `unsafe`
/// calls of `target_feature` functions sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Kernel(MixKernel);

impl Kernel {
    /// The concrete kernel for `choice`, if this CPU has it.
    pub(crate) fn new(choice: MixKernel) -> Option<Kernel> {
        choice.resolve().map(Kernel)
    }

    /// The portable kernel, which every CPU has.
    #[cfg(test)]
    pub(crate) fn baseline() -> Kernel {
        Kernel(MixKernel::Baseline)
    }

    /// Which kernel it is.
    pub(crate) fn which(self) -> MixKernel {
        self.0
    }

    /// `out[i] += pattern[i % LANES] * src[i]` for `i < min(len)`: a stretch
    /// of frames whose clip has the output's layout, with the gains repeated
    /// to [`LANES`] samples.
    ///
    /// With `ahead`, the wide kernels also ask for the samples that far
    /// past each they read to be brought into L1 (a hint, never a read: it
    /// may point past the clip's end; the portable kernel ignores it).
    #[inline]
    pub(crate) fn same_layout(
        self,
        pattern: &[f32; LANES],
        src: &[f32],
        out: &mut [f32],
        ahead: Option<usize>,
    ) {
        let n = src.len().min(out.len());
        let (src, out) = (&src[..n], &mut out[..n]);
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernel` holds Avx512 only when the CPU has AVX-512F
            // (`MixKernel::resolve`); the slices are borrowed for the call
            // and have equal lengths.
            MixKernel::Avx512 => unsafe { x86::same_layout_avx512(pattern, src, out, ahead) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, with AVX2.
            MixKernel::Avx2 => unsafe { x86::same_layout_avx2(pattern, src, out, ahead) },
            _ => same_layout_portable(pattern, src, out),
        }
    }

    /// `out[2f] += gains[0] * src[f]`, `out[2f + 1] += gains[1] * src[f]`:
    /// a mono clip on a stereo output; `ahead` as for
    /// [`Kernel::same_layout`].
    #[inline]
    pub(crate) fn mono_to_stereo(
        self,
        gains: [f32; 2],
        src: &[f32],
        out: &mut [f32],
        ahead: Option<usize>,
    ) {
        let n = src.len().min(out.len() / 2);
        let (src, out) = (&src[..n], &mut out[..2 * n]);
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernel` holds Avx2 or Avx512 only when the CPU has
            // AVX2 (`MixKernel::is_available` asks it of both); `out` holds
            // exactly twice `src`'s samples, both borrowed for the call.
            MixKernel::Avx2 | MixKernel::Avx512 => unsafe {
                x86::mono_to_stereo_avx2(gains, src, out, ahead)
            },
            _ => mono_to_stereo_portable(gains, src, out),
        }
    }

    /// Clamps every sample to [-1, 1]: +inf becomes 1, -inf -1, NaN 0, and
    /// -0.0 stays -0.0.
    #[inline]
    pub(crate) fn clamp(self, out: &mut [f32]) {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernel` holds Avx512 only when the CPU has AVX-512F;
            // `out` is borrowed for the call.
            MixKernel::Avx512 => unsafe { x86::clamp_avx512(out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, with AVX2.
            MixKernel::Avx2 => unsafe { x86::clamp_avx2(out) },
            _ => clamp_portable(out),
        }
    }
}

/// The bytes of a cache line, as [`prefetch_lead_in`] counts them.
pub(crate) const LINE_BYTES: usize = 64;

/// Asks the memory system to bring the `lines` cache lines from `at` into
/// L2. A hint, never a read: `at` may point anywhere, past the end of a
/// clip or of memory, and nothing faults. A no-op on CPUs other than
/// x86-64.
#[inline(always)]
pub(crate) fn prefetch_lead_in(at: *const f32, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in 0..lines {
        x86::prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(at, line * (LINE_BYTES / 4));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (at, lines);
}

/// Width of the gain pattern of [`Kernel::same_layout`]: a multiple of
/// every channel count that divides it, and of every vector width.
pub(crate) const LANES: usize = 16;

/// One sample's contribution: the multiply, then the add, each rounded.
#[inline(always)]
fn madd(out: f32, gain: f32, x: f32) -> f32 {
    out + gain * x
}

/// One sample clamped as [`Kernel::clamp`] says.
#[inline(always)]
fn clamp_one(v: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-1.0, 1.0)
    }
}

fn same_layout_portable(pattern: &[f32; LANES], src: &[f32], out: &mut [f32]) {
    let mut out_chunks = out.chunks_exact_mut(LANES);
    let mut src_chunks = src.chunks_exact(LANES);
    for (o, s) in (&mut out_chunks).zip(&mut src_chunks) {
        for i in 0..LANES {
            o[i] = madd(o[i], pattern[i], s[i]);
        }
    }
    let tail = out_chunks.into_remainder();
    for ((o, s), g) in tail.iter_mut().zip(src_chunks.remainder()).zip(pattern) {
        *o = madd(*o, *g, *s);
    }
}

fn mono_to_stereo_portable(gains: [f32; 2], src: &[f32], out: &mut [f32]) {
    for (frame, &x) in out.chunks_exact_mut(2).zip(src) {
        frame[0] = madd(frame[0], gains[0], x);
        frame[1] = madd(frame[1], gains[1], x);
    }
}

fn clamp_portable(out: &mut [f32]) {
    for x in out {
        *x = clamp_one(*x);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The AVX2 and AVX-512 loops. Each is `unsafe` only because it must
    //! run on a CPU with its features; callers check that through
    //! [`super::Kernel`]. Loads and stores are unaligned and stay inside
    //! the slices: the loop bounds are `i + width <= len`, and tails go
    //! through masks (AVX-512) or the scalar step.

    use super::{clamp_one, madd, LANES};
    use std::arch::x86_64::*;

    /// Asks for the cache line holding `base[at]` to be brought into the
    /// cache `HINT` names (`_MM_HINT_T0`: L1, `_MM_HINT_T1`: L2). A hint:
    /// `at` may lie past the slice `base` starts, or past memory.
    #[inline(always)]
    pub(super) fn prefetch<const HINT: i32>(base: *const f32, at: usize) {
        // SAFETY: a prefetch never faults and reads nothing the program
        // sees, whatever the address (`wrapping_add` forms it without
        // claiming it is in bounds), so neither lifetimes nor other
        // threads matter; SSE is in the x86-64 baseline.
        unsafe { _mm_prefetch::<HINT>(base.wrapping_add(at).cast()) }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn same_layout_avx2(
        pattern: &[f32; LANES],
        src: &[f32],
        out: &mut [f32],
        ahead: Option<usize>,
    ) {
        let n = src.len().min(out.len());
        let (s, o) = (src.as_ptr(), out.as_mut_ptr());
        // SAFETY: every access below is at an index < n, inside both
        // slices, which the caller lends for the whole call.
        unsafe {
            let g0 = _mm256_loadu_ps(pattern.as_ptr());
            let g1 = _mm256_loadu_ps(pattern.as_ptr().add(8));
            let mut i = 0;
            while i + 32 <= n {
                if let Some(a) = ahead {
                    prefetch::<_MM_HINT_T0>(s, i + a);
                    prefetch::<_MM_HINT_T0>(s, i + a + 16);
                }
                // Two pattern periods: gains g0 g1 g0 g1.
                let x0 = _mm256_mul_ps(g0, _mm256_loadu_ps(s.add(i)));
                let x1 = _mm256_mul_ps(g1, _mm256_loadu_ps(s.add(i + 8)));
                let x2 = _mm256_mul_ps(g0, _mm256_loadu_ps(s.add(i + 16)));
                let x3 = _mm256_mul_ps(g1, _mm256_loadu_ps(s.add(i + 24)));
                _mm256_storeu_ps(o.add(i), _mm256_add_ps(_mm256_loadu_ps(o.add(i)), x0));
                _mm256_storeu_ps(
                    o.add(i + 8),
                    _mm256_add_ps(_mm256_loadu_ps(o.add(i + 8)), x1),
                );
                _mm256_storeu_ps(
                    o.add(i + 16),
                    _mm256_add_ps(_mm256_loadu_ps(o.add(i + 16)), x2),
                );
                _mm256_storeu_ps(
                    o.add(i + 24),
                    _mm256_add_ps(_mm256_loadu_ps(o.add(i + 24)), x3),
                );
                i += 32;
            }
            // i is a multiple of LANES here.
            if i + 16 <= n {
                let x0 = _mm256_mul_ps(g0, _mm256_loadu_ps(s.add(i)));
                let x1 = _mm256_mul_ps(g1, _mm256_loadu_ps(s.add(i + 8)));
                _mm256_storeu_ps(o.add(i), _mm256_add_ps(_mm256_loadu_ps(o.add(i)), x0));
                _mm256_storeu_ps(
                    o.add(i + 8),
                    _mm256_add_ps(_mm256_loadu_ps(o.add(i + 8)), x1),
                );
                i += 16;
            }
            if i + 8 <= n {
                let x0 = _mm256_mul_ps(g0, _mm256_loadu_ps(s.add(i)));
                _mm256_storeu_ps(o.add(i), _mm256_add_ps(_mm256_loadu_ps(o.add(i)), x0));
                i += 8;
            }
            while i < n {
                *o.add(i) = madd(*o.add(i), pattern[i % LANES], *s.add(i));
                i += 1;
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(super) unsafe fn same_layout_avx512(
        pattern: &[f32; LANES],
        src: &[f32],
        out: &mut [f32],
        ahead: Option<usize>,
    ) {
        let n = src.len().min(out.len());
        let (s, o) = (src.as_ptr(), out.as_mut_ptr());
        // SAFETY: every full access is at indices < n; the tail's masked
        // load and store touch only the lanes below n (masked-off lanes
        // are neither read nor written and cannot fault).
        unsafe {
            let g = _mm512_loadu_ps(pattern.as_ptr());
            let mut i = 0;
            while i + 32 <= n {
                if let Some(a) = ahead {
                    prefetch::<_MM_HINT_T0>(s, i + a);
                    prefetch::<_MM_HINT_T0>(s, i + a + 16);
                }
                let x0 = _mm512_mul_ps(g, _mm512_loadu_ps(s.add(i)));
                let x1 = _mm512_mul_ps(g, _mm512_loadu_ps(s.add(i + 16)));
                _mm512_storeu_ps(o.add(i), _mm512_add_ps(_mm512_loadu_ps(o.add(i)), x0));
                _mm512_storeu_ps(
                    o.add(i + 16),
                    _mm512_add_ps(_mm512_loadu_ps(o.add(i + 16)), x1),
                );
                i += 32;
            }
            if i + 16 <= n {
                let x0 = _mm512_mul_ps(g, _mm512_loadu_ps(s.add(i)));
                _mm512_storeu_ps(o.add(i), _mm512_add_ps(_mm512_loadu_ps(o.add(i)), x0));
                i += 16;
            }
            if i < n {
                let mask: __mmask16 = (1u16 << (n - i)) - 1;
                let x = _mm512_mul_ps(g, _mm512_maskz_loadu_ps(mask, s.add(i)));
                let sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, o.add(i)), x);
                _mm512_mask_storeu_ps(o.add(i), mask, sum);
            }
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn mono_to_stereo_avx2(
        gains: [f32; 2],
        src: &[f32],
        out: &mut [f32],
        ahead: Option<usize>,
    ) {
        let n = src.len().min(out.len() / 2);
        let (s, o) = (src.as_ptr(), out.as_mut_ptr());
        // SAFETY: reads of src at indices < n and accesses of out at
        // indices < 2n, inside both slices, lent for the whole call.
        unsafe {
            let g = _mm256_setr_ps(
                gains[0], gains[1], gains[0], gains[1], gains[0], gains[1], gains[0], gains[1],
            );
            let lo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
            let hi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
            let mut f = 0;
            while f + 8 <= n {
                if let Some(a) = ahead {
                    prefetch::<_MM_HINT_T0>(s, f + a);
                }
                let x = _mm256_loadu_ps(s.add(f));
                let x0 = _mm256_mul_ps(g, _mm256_permutevar8x32_ps(x, lo));
                let x1 = _mm256_mul_ps(g, _mm256_permutevar8x32_ps(x, hi));
                let d = o.add(2 * f);
                _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), x0));
                _mm256_storeu_ps(d.add(8), _mm256_add_ps(_mm256_loadu_ps(d.add(8)), x1));
                f += 8;
            }
            while f < n {
                let x = *s.add(f);
                *o.add(2 * f) = madd(*o.add(2 * f), gains[0], x);
                *o.add(2 * f + 1) = madd(*o.add(2 * f + 1), gains[1], x);
                f += 1;
            }
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn clamp_avx2(out: &mut [f32]) {
        let n = out.len();
        let o = out.as_mut_ptr();
        // SAFETY: accesses at indices < n, inside `out`, lent for the call.
        unsafe {
            let (lo, hi) = (_mm256_set1_ps(-1.0), _mm256_set1_ps(1.0));
            let mut i = 0;
            while i + 8 <= n {
                let v = _mm256_loadu_ps(o.add(i));
                // max/min return their second operand for NaN: -1 here,
                // then masked to 0 by the ordered test.
                let c = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
                let ordered = _mm256_cmp_ps::<_CMP_ORD_Q>(v, v);
                _mm256_storeu_ps(o.add(i), _mm256_and_ps(c, ordered));
                i += 8;
            }
            while i < n {
                *o.add(i) = clamp_one(*o.add(i));
                i += 1;
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn clamp_avx512(out: &mut [f32]) {
        let n = out.len();
        let o = out.as_mut_ptr();
        // SAFETY: full accesses at indices < n; the tail's masked load and
        // store touch only lanes below n.
        unsafe {
            let (lo, hi) = (_mm512_set1_ps(-1.0), _mm512_set1_ps(1.0));
            let step = |v: __m512| {
                let c = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
                let ordered = _mm512_cmp_ps_mask::<_CMP_ORD_Q>(v, v);
                _mm512_maskz_mov_ps(ordered, c)
            };
            let mut i = 0;
            while i + 16 <= n {
                _mm512_storeu_ps(o.add(i), step(_mm512_loadu_ps(o.add(i))));
                i += 16;
            }
            if i < n {
                let mask: __mmask16 = (1u16 << (n - i)) - 1;
                let v = _mm512_maskz_loadu_ps(mask, o.add(i));
                _mm512_mask_storeu_ps(o.add(i), mask, step(v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kernels() -> Vec<Kernel> {
        MixKernel::ALL
            .into_iter()
            .filter_map(|k| (k != MixKernel::Auto).then(|| Kernel::new(k)).flatten())
            .collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Interesting finite values, as clip samples and gains always are:
    /// zeros of both signs, subnormals, values at and beyond full scale,
    /// the largest (whose products overflow to infinity).
    fn finite() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => -2.0f32..2.0,
            1 => prop::sample::select(vec![
                0.0, -0.0, 1.0, -1.0, f32::MIN_POSITIVE / 4.0, -f32::MIN_POSITIVE, f32::MAX,
                -f32::MAX,
            ]),
        ]
    }

    /// Interesting running sums: any finite value, infinities and NaN (a
    /// sum that overflowed). Only the sum may be non-finite: with two NaN
    /// operands which payload an operation keeps depends on operand order,
    /// which compilers may commute, and the engine never has a NaN sample
    /// or gain (clips and gains are checked finite).
    fn sample() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => -2.0f32..2.0,
            1 => prop::sample::select(vec![
                0.0, -0.0, 1.0, -1.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN,
                f32::MIN_POSITIVE / 4.0, -f32::MIN_POSITIVE, f32::MAX, -f32::MAX,
            ]),
        ]
    }

    #[test]
    fn names_round_trip_and_auto_resolves() {
        for k in MixKernel::ALL {
            assert_eq!(MixKernel::from_name(k.name()), Some(k));
        }
        assert_eq!(MixKernel::from_name("sse"), None);
        let auto = MixKernel::Auto.resolve().unwrap();
        assert_ne!(auto, MixKernel::Auto);
        assert!(auto.is_available());
        assert_eq!(MixKernel::Baseline.resolve(), Some(MixKernel::Baseline));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_wide_kernels_are_tested_where_the_cpu_has_them() {
        // On a machine with the features, the tests below must exercise them.
        let have: Vec<MixKernel> = kernels().iter().map(|k| k.which()).collect();
        if std::arch::is_x86_feature_detected!("avx2") {
            assert!(have.contains(&MixKernel::Avx2));
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            assert!(have.contains(&MixKernel::Avx512));
        }
    }

    proptest! {
        #[test]
        fn every_kernel_gives_the_baseline_bits(
            out in prop::collection::vec(sample(), 0..100),
            src in prop::collection::vec(finite(), 0..100),
            pattern in prop::array::uniform16(finite()),
            gains in prop::array::uniform2(finite()),
        ) {
            let base = Kernel::baseline();
            for k in kernels() {
                let (mut want, mut got) = (out.clone(), out.clone());
                base.same_layout(&pattern, &src, &mut want, None);
                k.same_layout(&pattern, &src, &mut got, Some(src.len()));
                prop_assert_eq!(bits(&got), bits(&want), "same_layout {:?}", k);

                let (mut want, mut got) = (out.clone(), out.clone());
                base.mono_to_stereo(gains, &src, &mut want, None);
                k.mono_to_stereo(gains, &src, &mut got, Some(src.len()));
                prop_assert_eq!(bits(&got), bits(&want), "mono_to_stereo {:?}", k);

                let (mut want, mut got) = (out.clone(), out.clone());
                base.clamp(&mut want);
                k.clamp(&mut got);
                prop_assert_eq!(bits(&got), bits(&want), "clamp {:?}", k);
            }
        }
    }

    #[test]
    fn baseline_means_what_it_says() {
        let mut out = [0.5f32, -0.0, 3.0, f32::NAN];
        let pattern: [f32; LANES] = std::array::from_fn(|i| i as f32);
        Kernel::baseline().same_layout(&pattern, &[1.0, 1.0, 1.0, 1.0], &mut out, None);
        assert_eq!(bits(&out[..3]), bits(&[0.5, 1.0, 5.0]));
        Kernel::baseline().clamp(&mut out);
        assert_eq!(bits(&out), bits(&[0.5, 1.0, 1.0, 0.0]));
        let mut neg_zero = [-0.0f32];
        Kernel::baseline().clamp(&mut neg_zero);
        assert_eq!(neg_zero[0].to_bits(), (-0.0f32).to_bits());
        let mut stereo = [0.0f32; 4];
        Kernel::baseline().mono_to_stereo([2.0, -1.0], &[1.0, 3.0], &mut stereo, None);
        assert_eq!(stereo, [2.0, -1.0, 6.0, -3.0]);
    }
}
