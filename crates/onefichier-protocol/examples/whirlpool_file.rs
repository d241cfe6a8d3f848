//! Prints the Whirlpool of files like `openssl dgst -whirlpool -r` does: `HEX *NAME`.
//! Used by `bench/` to compare this implementation with openssl on the same bytes.
#![allow(clippy::print_stdout)]

use onefichier_protocol::checksum::Whirlpool;
use std::io::Read;

fn main() -> std::io::Result<()> {
    for path in std::env::args().skip(1) {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Whirlpool::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        println!("{} *{path}", hasher.finalize_hex());
    }
    Ok(())
}
