//! Whirlpool, the service's file checksum (`checksum` in listings, `whirlpool` in end.pl).
//!
//! A streaming implementation tuned for throughput, because verification must not be the
//! bottleneck of a verified transfer. Two kernels compute the compression function:
//!
//! - on x86-64 CPUs with AVX2 (checked at run time), vector code without tables
//!   (`checksum/avx2.rs`), 2.3 times `openssl dgst -whirlpool` on the benchmark machine;
//! - everywhere else, the table-driven form: one 4 KiB table, computed at compile time from the
//!   specification's mini-boxes, serves the eight rotated tables of the usual implementations (a
//!   rotation is a read at a byte offset), each round fully unrolled.

/// The 256-bit digest as 128 lowercase hex characters is how the API writes it.
pub const HEX_LEN: usize = 128;

const ROUNDS: usize = 10;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(feature = "background")]
mod background;
#[cfg(feature = "background")]
pub use background::BackgroundHasher;

/// The specification's 4-bit mini-boxes: E, its inverse, and R. The S-box is built from them,
/// and the AVX2 kernel evaluates them directly with byte shuffles.
const MINI_E: [u8; 16] = [
    0x1, 0xB, 0x9, 0xC, 0xD, 0x6, 0xF, 0x3, 0xE, 0x8, 0x7, 0x4, 0xA, 0x2, 0x5, 0x0,
];
const MINI_R: [u8; 16] = [
    0x7, 0xC, 0xB, 0xD, 0xE, 0x4, 0x9, 0xF, 0x6, 0x3, 0x8, 0xA, 0x2, 0x5, 0x1, 0x0,
];
const MINI_E_INV: [u8; 16] = {
    let mut inverse = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        inverse[MINI_E[i] as usize] = i as u8;
        i += 1;
    }
    inverse
};

/// The S-box: high nibble through E, low nibble through E⁻¹, mixed by R.
const SBOX: [u8; 256] = {
    let mut sbox = [0u8; 256];
    let mut x = 0;
    while x < 256 {
        let hi = MINI_E[x >> 4];
        let lo = MINI_E_INV[x & 0xF];
        let r = MINI_R[(hi ^ lo) as usize];
        sbox[x] = (MINI_E[(hi ^ r) as usize] << 4) | MINI_E_INV[(lo ^ r) as usize];
        x += 1;
    }
    sbox
};

/// Multiplication in GF(2⁸) modulo x⁸ + x⁴ + x³ + x² + 1.
const fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1D;
        }
        b >>= 1;
    }
    product
}

/// `C0[x]`: the first row of the circulant matrix cir(1, 1, 4, 1, 8, 5, 2, 9) times S[x], as a
/// big-endian row. Row k of the matrix is `C0` rotated right by k bytes.
const C0: [u64; 256] = {
    const ROW: [u8; 8] = [1, 1, 4, 1, 8, 5, 2, 9];
    let mut table = [0u64; 256];
    let mut x = 0;
    while x < 256 {
        let s = SBOX[x];
        let mut j = 0;
        while j < 8 {
            table[x] = (table[x] << 8) | gf_mul(s, ROW[j]) as u64;
            j += 1;
        }
        x += 1;
    }
    table
};

/// `C0` with each entry written twice, little-endian: the eight bytes at offset 16·x + k are
/// `C0[x]` rotated right by k bytes.
static DOUBLED: [u8; 4096] = {
    let mut bytes = [0u8; 4096];
    let mut x = 0;
    while x < 256 {
        let le = C0[x].to_le_bytes();
        let mut j = 0;
        while j < 16 {
            bytes[16 * x + j] = le[j % 8];
            j += 1;
        }
        x += 1;
    }
    bytes
};

/// Row k of the matrix times S[low byte of `byte`].
#[inline(always)]
fn lookup(k: usize, byte: u64) -> u64 {
    let at = 16 * (byte as u8 as usize) + k;
    u64::from_le_bytes(DOUBLED[at..at + 8].try_into().expect("8 bytes"))
}

/// Round constants: the first row holds S-box entries, the other rows are zero.
const ROUND_CONSTANTS: [u64; ROUNDS] = {
    let mut rc = [0u64; ROUNDS];
    let mut r = 0;
    while r < ROUNDS {
        let mut j = 0;
        while j < 8 {
            rc[r] = (rc[r] << 8) | SBOX[8 * r + j] as u64;
            j += 1;
        }
        r += 1;
    }
    rc
};

/// One output row of ρ: byte k of the result row i comes from row (i − k) mod 8.
#[inline(always)]
fn rho_row(a: &[u64; 8], i: usize) -> u64 {
    lookup(0, a[i] >> 56)
        ^ lookup(1, a[(i + 7) & 7] >> 48)
        ^ lookup(2, a[(i + 6) & 7] >> 40)
        ^ lookup(3, a[(i + 5) & 7] >> 32)
        ^ lookup(4, a[(i + 4) & 7] >> 24)
        ^ lookup(5, a[(i + 3) & 7] >> 16)
        ^ lookup(6, a[(i + 2) & 7] >> 8)
        ^ lookup(7, a[(i + 1) & 7])
}

#[inline(always)]
fn rho(a: &[u64; 8]) -> [u64; 8] {
    [
        rho_row(a, 0),
        rho_row(a, 1),
        rho_row(a, 2),
        rho_row(a, 3),
        rho_row(a, 4),
        rho_row(a, 5),
        rho_row(a, 6),
        rho_row(a, 7),
    ]
}

fn compress(hash: &mut [u64; 8], block: &[u8; 64]) {
    let mut m = [0u64; 8];
    for (row, bytes) in m.iter_mut().zip(block.chunks_exact(8)) {
        *row = u64::from_be_bytes(bytes.try_into().expect("8-byte chunk"));
    }
    let mut key = *hash;
    let mut state = [0u64; 8];
    for i in 0..8 {
        state[i] = m[i] ^ key[i];
    }
    for rc in ROUND_CONSTANTS {
        key = rho(&key);
        key[0] ^= rc;
        let mixed = rho(&state);
        for i in 0..8 {
            state[i] = mixed[i] ^ key[i];
        }
    }
    for i in 0..8 {
        hash[i] ^= state[i] ^ m[i];
    }
}

/// Which implementation of the compression function runs.
#[derive(Clone, Copy, Debug)]
enum Kernel {
    /// The lookup tables above: any CPU.
    Tables,
    /// Vector code without tables, about three times faster.
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Avx2),
}

impl Kernel {
    fn fastest() -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = avx2::Avx2::detect() {
            return Self::Avx2(avx2);
        }
        Self::Tables
    }

    /// Runs the compression function over whole 64-byte blocks.
    fn compress_blocks(self, hash: &mut [u64; 8], blocks: &[u8]) {
        debug_assert_eq!(blocks.len() % 64, 0);
        match self {
            Self::Tables => {
                for block in blocks.chunks_exact(64) {
                    compress(hash, block.try_into().expect("64-byte block"));
                }
            }
            #[cfg(target_arch = "x86_64")]
            Self::Avx2(avx2) => avx2.compress_blocks(hash, blocks),
        }
    }
}

/// A streaming Whirlpool hasher.
#[derive(Clone)]
pub struct Whirlpool {
    hash: [u64; 8],
    buffer: [u8; 64],
    buffered: usize,
    /// Message length in bytes (the specification counts bits in 256; 2¹²⁸ bits is plenty).
    length: u128,
    kernel: Kernel,
}

impl Default for Whirlpool {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Whirlpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Whirlpool")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl Whirlpool {
    /// A hasher over the empty message, on the fastest implementation this CPU runs.
    pub fn new() -> Self {
        Self::with_kernel(Kernel::fastest())
    }

    fn with_kernel(kernel: Kernel) -> Self {
        Self {
            hash: [0; 8],
            buffer: [0; 64],
            buffered: 0,
            length: 0,
            kernel,
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u128 {
        self.length
    }

    /// Whether nothing was hashed yet.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Adds bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.length += data.len() as u128;
        if self.buffered > 0 {
            let take = (64 - self.buffered).min(data.len());
            self.buffer[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
            if self.buffered < 64 {
                return;
            }
            let block = self.buffer;
            self.kernel.compress_blocks(&mut self.hash, &block);
            self.buffered = 0;
        }
        let whole = data.len() - data.len() % 64;
        self.kernel.compress_blocks(&mut self.hash, &data[..whole]);
        let rest = &data[whole..];
        self.buffer[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    /// The 64-byte digest.
    pub fn finalize(mut self) -> [u8; 64] {
        let bits = self.length.wrapping_mul(8);
        let mut block = [0u8; 64];
        block[..self.buffered].copy_from_slice(&self.buffer[..self.buffered]);
        block[self.buffered] = 0x80;
        // The last 32 bytes carry the bit length; if they do not fit, pad a whole block more.
        if self.buffered >= 32 {
            self.kernel.compress_blocks(&mut self.hash, &block);
            block = [0u8; 64];
        }
        block[48..].copy_from_slice(&bits.to_be_bytes());
        self.kernel.compress_blocks(&mut self.hash, &block);
        let mut out = [0u8; 64];
        for (bytes, row) in out.chunks_exact_mut(8).zip(self.hash) {
            bytes.copy_from_slice(&row.to_be_bytes());
        }
        out
    }

    /// The digest as the API writes it: 128 lowercase hex characters.
    pub fn finalize_hex(self) -> String {
        use std::fmt::Write;
        self.finalize()
            .iter()
            .fold(String::with_capacity(HEX_LEN), |mut out, b| {
                let _ = write!(out, "{b:02x}");
                out
            })
    }

    /// The hex digest of one buffer.
    pub fn hex_digest(data: &[u8]) -> String {
        let mut hasher = Self::new();
        hasher.update(data);
        hasher.finalize_hex()
    }
}

/// Whether `text` has the shape of a Whirlpool checksum (128 hex characters, any case).
pub fn is_whirlpool_hex(text: &str) -> bool {
    text.len() == HEX_LEN && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbox_starts_as_the_specification() {
        assert_eq!(&SBOX[..4], &[0x18, 0x23, 0xC6, 0xE8]);
        assert_eq!(SBOX[255], 0x86);
    }

    #[test]
    fn reference_vectors() {
        for (input, expected) in [
            (
                &b""[..],
                "19fa61d75522a4669b44e39c1d2e1726c530232130d407f89afee0964997f7a73e83be698b288febcf88e3e03c4f0757ea8964e59b63d93708b138cc42a66eb3",
            ),
            (
                b"a",
                "8aca2602792aec6f11a67206531fb7d7f0dff59413145e6973c45001d0087b42d11bc645413aeff63a42391a39145a591a92200d560195e53b478584fdae231a",
            ),
            (
                b"abc",
                "4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5",
            ),
            (
                b"The quick brown fox jumps over the lazy dog",
                "b97de512e91e3828b40d2b0fdce9ceb3c4a71f9bea8d88e75c4fa854df36725fd2b52eb6544edcacd6f8beddfea403cb55ae31f03ad62a5ef54e42ee82c3fb35",
            ),
        ] {
            assert_eq!(Whirlpool::hex_digest(input), expected);
        }
    }

    /// Every kernel this CPU runs, the table-driven one first.
    fn kernels() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Tables];
        #[cfg(target_arch = "x86_64")]
        kernels.extend(avx2::Avx2::detect().map(Kernel::Avx2));
        kernels
    }

    fn hex_digest_with(kernel: Kernel, data: &[u8]) -> String {
        let mut hasher = Whirlpool::with_kernel(kernel);
        hasher.update(data);
        hasher.finalize_hex()
    }

    #[test]
    fn every_kernel_gives_the_reference_digests() {
        // One million 'a' and 8 blocks of a counting pattern cross many block boundaries.
        let million_a = vec![b'a'; 1_000_000];
        let expected = "0c99005beb57eff50a7cf005560ddf5d29057fd86b20bfd62deca0f1ccea4af51fc15490eddc47af32bb2b66c34ff9ad8c6008ad677f77126953b226e4ed8b01";
        for kernel in kernels() {
            assert_eq!(hex_digest_with(kernel, &million_a), expected, "{kernel:?}");
            assert_eq!(
                hex_digest_with(kernel, b"abc"),
                Whirlpool::hex_digest(b"abc"),
                "{kernel:?}"
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    proptest::proptest! {
        #[test]
        fn avx2_and_tables_agree(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..1500),
            split in 0usize..1500,
        ) {
            let Some(avx2) = avx2::Avx2::detect() else { return Ok(()) };
            let split = split.min(data.len());
            let digest = |kernel| {
                let mut hasher = Whirlpool::with_kernel(kernel);
                hasher.update(&data[..split]);
                hasher.update(&data[split..]);
                hasher.finalize_hex()
            };
            proptest::prop_assert_eq!(digest(Kernel::Avx2(avx2)), digest(Kernel::Tables));
        }
    }

    #[test]
    fn streaming_equals_one_shot_for_every_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = Whirlpool::hex_digest(&data);
        for split in [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 200, 300] {
            let mut hasher = Whirlpool::new();
            hasher.update(&data[..split]);
            hasher.update(&data[split..]);
            assert_eq!(hasher.finalize_hex(), whole, "split at {split}");
        }
    }
}
