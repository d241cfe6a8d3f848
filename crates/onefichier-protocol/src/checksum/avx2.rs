//! Whirlpool's compression function on AVX2, without lookup tables.
//!
//! The table-driven form spends three or four instructions per state byte and round (extract,
//! load, xor); here the whole 8×8 state lives in two 256-bit registers and each step of a round
//! is a handful of vector instructions:
//!
//! - γ (S-box): the specification builds it from 4-bit mini-boxes, and a 16-entry table is one
//!   byte shuffle (`vpshufb`), so 64 S-box lookups take five shuffles per register;
//! - π (rotate column j down by j): with one column per 64-bit lane, a byte shuffle inside lanes;
//! - θ (rows times cir(1, 1, 4, 1, 8, 5, 2, 9)): whole-column rotations (lane swaps and
//!   `vpalignr`) combined with three doublings in GF(2⁸), by Horner's rule;
//! - σ: an xor.
//!
//! Layout: column c is the 64-bit lane holding rows 0..8 as bytes 0..8. Register `p` holds
//! columns [0, 1 | 4, 5] and `q` holds [2, 3 | 6, 7] (low 128-bit half | high half), which makes
//! every column rotation a lane swap or a `vpalignr`, both single cheap instructions.
//!
//! Every function here is compiled for AVX2; [`Avx2`] is the one entry, and only exists once the
//! CPU was checked.

use std::arch::x86_64::{
    __m256i, _mm256_add_epi8, _mm256_alignr_epi8, _mm256_and_si256, _mm256_blendv_epi8,
    _mm256_extract_epi64, _mm256_or_si256, _mm256_permute2x128_si256, _mm256_set_epi64x,
    _mm256_set1_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16,
    _mm256_unpackhi_epi16, _mm256_unpackhi_epi32, _mm256_unpacklo_epi16, _mm256_unpacklo_epi32,
    _mm256_xor_si256,
};

use super::{MINI_E, MINI_E_INV, MINI_R, ROUNDS, SBOX};

/// Proof that this CPU has AVX2: only [`Avx2::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(());

impl Avx2 {
    /// The kernel, if this CPU can run it.
    pub(super) fn detect() -> Option<Self> {
        std::arch::is_x86_feature_detected!("avx2").then_some(Self(()))
    }

    /// Runs the compression function over `blocks` (whole 64-byte blocks).
    #[allow(unsafe_code)]
    pub(super) fn compress_blocks(self, hash: &mut [u64; 8], blocks: &[u8]) {
        // SAFETY: `compress_blocks` is safe code compiled for AVX2; its one requirement is a
        // CPU with AVX2, which `self` proves (only `detect` makes an `Avx2`, after checking).
        unsafe { compress_blocks(hash, blocks) }
    }
}

/// The state (or key) matrix: columns [0, 1 | 4, 5] and [2, 3 | 6, 7].
#[derive(Clone, Copy)]
struct Matrix {
    p: __m256i,
    q: __m256i,
}

/// Constants kept in registers across blocks.
struct Constants {
    low_nibble: __m256i,
    e: __m256i,
    e_high: __m256i,
    e_inv: __m256i,
    r: __m256i,
    pi_p: __m256i,
    pi_q: __m256i,
    reduction: __m256i,
    pair_rows: __m256i,
}

/// A 16-byte table repeated in both halves, as `vpshufb` reads it.
#[target_feature(enable = "avx2")]
fn table(bytes: [u8; 16]) -> __m256i {
    let low = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as i64;
    let high = u64::from_le_bytes(bytes[8..].try_into().expect("8 bytes")) as i64;
    _mm256_set_epi64x(high, low, high, low)
}

/// The shuffle that rotates each column down by its index (π) for a register whose lanes hold
/// `columns`: output row i of column c is input row (i − c) mod 8.
const fn pi_control(columns: [usize; 4]) -> [u8; 32] {
    let mut control = [0u8; 32];
    let mut lane = 0;
    while lane < 4 {
        // Shuffles index within a 128-bit half: lanes 0 and 2 start at 0, lanes 1 and 3 at 8.
        let base = 8 * (lane % 2);
        let mut row = 0;
        while row < 8 {
            control[8 * lane + row] = (base + (row + 8 - columns[lane] % 8) % 8) as u8;
            row += 1;
        }
        lane += 1;
    }
    control
}

#[target_feature(enable = "avx2")]
fn bytes32(bytes: [u8; 32]) -> __m256i {
    let lane =
        |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes")) as i64;
    _mm256_set_epi64x(lane(3), lane(2), lane(1), lane(0))
}

impl Constants {
    #[target_feature(enable = "avx2")]
    fn new() -> Self {
        let mut e_high = MINI_E;
        for value in &mut e_high {
            *value <<= 4;
        }
        // Within each half, rows a and b of the input become (a, b) byte pairs per column.
        let pair_rows = [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15];
        Self {
            low_nibble: _mm256_set1_epi8(0x0F),
            e: table(MINI_E),
            e_high: table(e_high),
            e_inv: table(MINI_E_INV),
            r: table(MINI_R),
            pi_p: bytes32(pi_control([0, 1, 4, 5])),
            pi_q: bytes32(pi_control([2, 3, 6, 7])),
            reduction: _mm256_set1_epi8(0x1D),
            pair_rows: table(pair_rows),
        }
    }
}

/// Round constants as matrices: row 0 holds S-box entries, the other rows are zero.
const ROUND_CONSTANT_COLUMNS: [[u64; 8]; ROUNDS] = {
    let mut columns = [[0u64; 8]; ROUNDS];
    let mut round = 0;
    while round < ROUNDS {
        let mut c = 0;
        while c < 8 {
            columns[round][c] = SBOX[8 * round + c] as u64;
            c += 1;
        }
        round += 1;
    }
    columns
};

impl Matrix {
    #[target_feature(enable = "avx2")]
    fn from_columns(c: [u64; 8]) -> Self {
        let c = c.map(|column| column as i64);
        Self {
            p: _mm256_set_epi64x(c[5], c[4], c[1], c[0]),
            q: _mm256_set_epi64x(c[7], c[6], c[3], c[2]),
        }
    }

    #[target_feature(enable = "avx2")]
    fn columns(self) -> [u64; 8] {
        let (p, q) = (self.p, self.q);
        [
            _mm256_extract_epi64::<0>(p),
            _mm256_extract_epi64::<1>(p),
            _mm256_extract_epi64::<0>(q),
            _mm256_extract_epi64::<1>(q),
            _mm256_extract_epi64::<2>(p),
            _mm256_extract_epi64::<3>(p),
            _mm256_extract_epi64::<2>(q),
            _mm256_extract_epi64::<3>(q),
        ]
        .map(|column| column as u64)
    }

    /// A 64-byte message block (row-major, as the specification lays it out), transposed.
    #[target_feature(enable = "avx2")]
    fn from_block(block: &[u8], k: &Constants) -> Self {
        let rows_0_to_3 = bytes32(block[..32].try_into().expect("32 bytes"));
        let rows_4_to_7 = bytes32(block[32..64].try_into().expect("32 bytes"));
        // Halves: [rows 0, 1 | rows 2, 3] and [rows 4, 5 | rows 6, 7], as 16-bit row pairs
        // per column.
        let low = _mm256_shuffle_epi8(rows_0_to_3, k.pair_rows);
        let high = _mm256_shuffle_epi8(rows_4_to_7, k.pair_rows);
        let pairs_01_45 = _mm256_permute2x128_si256::<0x20>(low, high);
        let pairs_23_67 = _mm256_permute2x128_si256::<0x31>(low, high);
        // 32-bit groups of four rows: columns 0..4 and 4..8, rows [0..4 | 4..8].
        let columns_0_to_3 = _mm256_unpacklo_epi16(pairs_01_45, pairs_23_67);
        let columns_4_to_7 = _mm256_unpackhi_epi16(pairs_01_45, pairs_23_67);
        let top_rows = _mm256_permute2x128_si256::<0x20>(columns_0_to_3, columns_4_to_7);
        let bottom_rows = _mm256_permute2x128_si256::<0x31>(columns_0_to_3, columns_4_to_7);
        Self {
            p: _mm256_unpacklo_epi32(top_rows, bottom_rows),
            q: _mm256_unpackhi_epi32(top_rows, bottom_rows),
        }
    }

    #[target_feature(enable = "avx2")]
    fn xor(self, other: Self) -> Self {
        Self {
            p: _mm256_xor_si256(self.p, other.p),
            q: _mm256_xor_si256(self.q, other.q),
        }
    }

    /// ρ without the key: θ(π(γ(self))).
    #[target_feature(enable = "avx2")]
    fn mix(self, k: &Constants) -> Self {
        let p = _mm256_shuffle_epi8(sbox(self.p, k), k.pi_p);
        let q = _mm256_shuffle_epi8(sbox(self.q, k), k.pi_q);
        theta(p, q, k.reduction)
    }
}

/// γ on 32 bytes: u = E[high nibble], l = E⁻¹[low nibble], r = R[u ⊕ l], then
/// E[u ⊕ r] ‖ E⁻¹[l ⊕ r].
#[target_feature(enable = "avx2")]
fn sbox(x: __m256i, k: &Constants) -> __m256i {
    let high = _mm256_and_si256(_mm256_srli_epi16::<4>(x), k.low_nibble);
    let low = _mm256_and_si256(x, k.low_nibble);
    let u = _mm256_shuffle_epi8(k.e, high);
    let l = _mm256_shuffle_epi8(k.e_inv, low);
    let r = _mm256_shuffle_epi8(k.r, _mm256_xor_si256(u, l));
    _mm256_or_si256(
        _mm256_shuffle_epi8(k.e_high, _mm256_xor_si256(u, r)),
        _mm256_shuffle_epi8(k.e_inv, _mm256_xor_si256(l, r)),
    )
}

/// Doubling in GF(2⁸) modulo x⁸ + x⁴ + x³ + x² + 1, bytewise.
#[target_feature(enable = "avx2")]
fn double(x: Matrix, reduction: __m256i) -> Matrix {
    let zero = _mm256_setzero_si256();
    let times2 = |v: __m256i| {
        // The reduction applies where the top bit was set, which is what blendv selects on.
        _mm256_xor_si256(
            _mm256_add_epi8(v, v),
            _mm256_blendv_epi8(zero, reduction, v),
        )
    };
    Matrix {
        p: times2(x.p),
        q: times2(x.q),
    }
}

/// θ: output column j = ⊕_d c_d · column (j − d), with c = (1, 1, 4, 1, 8, 5, 2, 9); that is
/// (rot0 ⊕ rot1 ⊕ rot3 ⊕ rot5 ⊕ rot7) ⊕ 2·(2·(2·(rot4 ⊕ rot7) ⊕ (rot2 ⊕ rot5)) ⊕ rot6).
#[target_feature(enable = "avx2")]
fn theta(p: __m256i, q: __m256i, reduction: __m256i) -> Matrix {
    // p = [0 1 | 4 5], q = [2 3 | 6 7]; the halves swapped and the four odd rotations.
    let p_swapped = _mm256_permute2x128_si256::<0x01>(p, p); // [4 5 | 0 1]
    let q_swapped = _mm256_permute2x128_si256::<0x01>(q, q); // [6 7 | 2 3]
    let a1 = _mm256_alignr_epi8::<8>(p, q_swapped); // [7 0 | 3 4]
    let a2 = _mm256_alignr_epi8::<8>(q, p); // [1 2 | 5 6]
    let a3 = _mm256_alignr_epi8::<8>(q_swapped, p_swapped); // [5 6 | 1 2]
    let a4 = _mm256_alignr_epi8::<8>(p_swapped, q); // [3 4 | 7 0]
    // As (p, q) pairs: rot1 = (a1, a2), rot2 = (q_swapped, p), rot3 = (a3, a1),
    // rot4 = (p_swapped, q_swapped), rot5 = (a4, a3), rot6 = (q, p_swapped), rot7 = (a2, a4).
    let odd = _mm256_xor_si256(_mm256_xor_si256(a1, a2), _mm256_xor_si256(a3, a4));
    let ones = Matrix {
        p: _mm256_xor_si256(p, odd),
        q: _mm256_xor_si256(q, odd),
    };
    let shared = _mm256_xor_si256(q_swapped, a4);
    let eights = Matrix {
        p: _mm256_xor_si256(p_swapped, a2),
        q: shared,
    };
    let fours = Matrix {
        p: shared,
        q: _mm256_xor_si256(p, a3),
    };
    let twos = Matrix { p: q, q: p_swapped };
    let horner = double(eights, reduction).xor(fours);
    let horner = double(horner, reduction).xor(twos);
    double(horner, reduction).xor(ones)
}

/// Miyaguchi–Preneel over each block, the chaining value kept in registers.
#[target_feature(enable = "avx2")]
fn compress_blocks(hash: &mut [u64; 8], blocks: &[u8]) {
    let k = Constants::new();
    let round_constants = ROUND_CONSTANT_COLUMNS.map(|columns| Matrix::from_columns(columns));
    let mut chaining = Matrix::from_columns(rows_to_columns(hash));
    for block in blocks.chunks_exact(64) {
        let message = Matrix::from_block(block, &k);
        let mut key = chaining;
        let mut state = message.xor(key);
        for round_constant in &round_constants {
            key = key.mix(&k).xor(*round_constant);
            state = state.mix(&k).xor(key);
        }
        chaining = chaining.xor(state).xor(message);
    }
    *hash = columns_to_rows(chaining.columns());
}

/// Rows as the portable code keeps them (big-endian, column 0 in the top byte) to columns
/// (little-endian, row 0 in the low byte): a byte transpose.
fn rows_to_columns(rows: &[u64; 8]) -> [u64; 8] {
    let mut columns = [0u64; 8];
    for (c, column) in columns.iter_mut().enumerate() {
        for (r, row) in rows.iter().enumerate() {
            *column |= ((row >> (56 - 8 * c)) & 0xFF) << (8 * r);
        }
    }
    columns
}

fn columns_to_rows(columns: [u64; 8]) -> [u64; 8] {
    let mut rows = [0u64; 8];
    for (r, row) in rows.iter_mut().enumerate() {
        for (c, column) in columns.iter().enumerate() {
            *row |= ((column >> (8 * r)) & 0xFF) << (56 - 8 * c);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_are_inverse() {
        let rows: [u64; 8] =
            std::array::from_fn(|i| 0x0123_4567_89AB_CDEF_u64.rotate_left(i as u32 * 5));
        assert_eq!(columns_to_rows(rows_to_columns(&rows)), rows);
    }

    #[test]
    fn pi_rotates_column_c_down_by_c() {
        let control = pi_control([0, 1, 4, 5]);
        // Column 1 (second lane of the low half): row 0 comes from row 7.
        assert_eq!(control[8], 8 + 7);
        // Column 4 (first lane of the high half): row 4 comes from row 0.
        assert_eq!(control[16 + 4], 0);
    }
}
