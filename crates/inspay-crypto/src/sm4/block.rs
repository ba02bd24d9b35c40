//! The SM4 block cipher (GB/T 32907), encryption direction only, for SM4-GCM.
//!
//! The RustCrypto `sm4` crate encrypts one block at a time, so each of the 32 rounds waits on
//! the one before. GCM's counter mode hands over eight independent blocks at once; this
//! implementation runs them through each round together, which lets the processor overlap
//! them. The round function is the same as the crate's: byte-wise S-box look-ups followed by
//! the linear transform L, so the memory-access pattern (a 256-byte table) is unchanged.
//! `tests` checks it against the standard's vectors and against the `sm4` crate.

use cipher::consts::{U8, U16};
use cipher::{
    AlgorithmName, Block, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt,
    BlockSizeUser, InOut, Key, KeyInit, KeySizeUser, ParBlocks, ParBlocksSizeUser,
};
use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Blocks encrypted together.
const LANES: usize = 8;

const SBOX: [u8; 256] = [
    0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7, 0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c, 0x05,
    0x2b, 0x67, 0x9a, 0x76, 0x2a, 0xbe, 0x04, 0xc3, 0xaa, 0x44, 0x13, 0x26, 0x49, 0x86, 0x06, 0x99,
    0x9c, 0x42, 0x50, 0xf4, 0x91, 0xef, 0x98, 0x7a, 0x33, 0x54, 0x0b, 0x43, 0xed, 0xcf, 0xac, 0x62,
    0xe4, 0xb3, 0x1c, 0xa9, 0xc9, 0x08, 0xe8, 0x95, 0x80, 0xdf, 0x94, 0xfa, 0x75, 0x8f, 0x3f, 0xa6,
    0x47, 0x07, 0xa7, 0xfc, 0xf3, 0x73, 0x17, 0xba, 0x83, 0x59, 0x3c, 0x19, 0xe6, 0x85, 0x4f, 0xa8,
    0x68, 0x6b, 0x81, 0xb2, 0x71, 0x64, 0xda, 0x8b, 0xf8, 0xeb, 0x0f, 0x4b, 0x70, 0x56, 0x9d, 0x35,
    0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58, 0xd1, 0xa2, 0x25, 0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87,
    0xd4, 0x00, 0x46, 0x57, 0x9f, 0xd3, 0x27, 0x52, 0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e,
    0xea, 0xbf, 0x8a, 0xd2, 0x40, 0xc7, 0x38, 0xb5, 0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1,
    0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34, 0x1a, 0x55, 0xad, 0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3,
    0x1d, 0xf6, 0xe2, 0x2e, 0x82, 0x66, 0xca, 0x60, 0xc0, 0x29, 0x23, 0xab, 0x0d, 0x53, 0x4e, 0x6f,
    0xd5, 0xdb, 0x37, 0x45, 0xde, 0xfd, 0x8e, 0x2f, 0x03, 0xff, 0x6a, 0x72, 0x6d, 0x6c, 0x5b, 0x51,
    0x8d, 0x1b, 0xaf, 0x92, 0xbb, 0xdd, 0xbc, 0x7f, 0x11, 0xd9, 0x5c, 0x41, 0x1f, 0x10, 0x5a, 0xd8,
    0x0a, 0xc1, 0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd, 0x2d, 0x74, 0xd0, 0x12, 0xb8, 0xe5, 0xb4, 0xb0,
    0x89, 0x69, 0x97, 0x4a, 0x0c, 0x96, 0x77, 0x7e, 0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e, 0xc6, 0x84,
    0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d, 0x20, 0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39, 0x48,
];

const FK: [u32; 4] = [0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc];

const CK: [u32; 32] = [
    0x00070e15, 0x1c232a31, 0x383f464d, 0x545b6269, 0x70777e85, 0x8c939aa1, 0xa8afb6bd, 0xc4cbd2d9,
    0xe0e7eef5, 0xfc030a11, 0x181f262d, 0x343b4249, 0x50575e65, 0x6c737a81, 0x888f969d, 0xa4abb2b9,
    0xc0c7ced5, 0xdce3eaf1, 0xf8ff060d, 0x141b2229, 0x30373e45, 0x4c535a61, 0x686f767d, 0x848b9299,
    0xa0a7aeb5, 0xbcc3cad1, 0xd8dfe6ed, 0xf4fb0209, 0x10171e25, 0x2c333a41, 0x484f565d, 0x646b7279,
];

#[inline(always)]
fn tau(a: u32) -> u32 {
    let [b0, b1, b2, b3] = a.to_be_bytes();
    u32::from_be_bytes([
        SBOX[usize::from(b0)],
        SBOX[usize::from(b1)],
        SBOX[usize::from(b2)],
        SBOX[usize::from(b3)],
    ])
}

/// The round transform T = L(tau(.)).
#[inline(always)]
fn t(value: u32) -> u32 {
    let b = tau(value);
    b ^ b.rotate_left(2) ^ b.rotate_left(10) ^ b.rotate_left(18) ^ b.rotate_left(24)
}

/// The key-schedule transform T' = L'(tau(.)).
fn t_prime(value: u32) -> u32 {
    let b = tau(value);
    b ^ b.rotate_left(13) ^ b.rotate_left(23)
}

fn load(block: &Block<Sm4Block>) -> [u32; 4] {
    let mut words = [0u32; 4];
    for (index, word) in words.iter_mut().enumerate() {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(&block[4 * index..4 * index + 4]);
        *word = u32::from_be_bytes(bytes);
    }
    words
}

fn store(words: &[u32; 4], block: &mut Block<Sm4Block>) {
    // The output is (X35, X34, X33, X32): the last four words in reverse order.
    for (index, word) in words.iter().rev().enumerate() {
        block[4 * index..4 * index + 4].copy_from_slice(&word.to_be_bytes());
    }
}

/// SM4 with its 32 round keys, which are zeroised on drop.
#[derive(Clone)]
pub(crate) struct Sm4Block {
    rk: [u32; 32],
}

impl Sm4Block {
    /// The 32 rounds over `LANES`-many states at once (the same code serves one block).
    #[inline(always)]
    fn rounds<const COUNT: usize>(&self, x: &mut [[u32; 4]; COUNT]) {
        for group in self.rk.chunks_exact(4) {
            for lane in x.iter_mut() {
                lane[0] ^= t(lane[1] ^ lane[2] ^ lane[3] ^ group[0]);
            }
            for lane in x.iter_mut() {
                lane[1] ^= t(lane[2] ^ lane[3] ^ lane[0] ^ group[1]);
            }
            for lane in x.iter_mut() {
                lane[2] ^= t(lane[3] ^ lane[0] ^ lane[1] ^ group[2]);
            }
            for lane in x.iter_mut() {
                lane[3] ^= t(lane[0] ^ lane[1] ^ lane[2] ^ group[3]);
            }
        }
    }
}

impl KeySizeUser for Sm4Block {
    type KeySize = U16;
}

impl KeyInit for Sm4Block {
    fn new(key: &Key<Self>) -> Self {
        let mut mk = [0u32; 4];
        for (index, word) in mk.iter_mut().enumerate() {
            let mut bytes = [0u8; 4];
            bytes.copy_from_slice(&key[4 * index..4 * index + 4]);
            *word = u32::from_be_bytes(bytes);
        }
        let mut k = [mk[0] ^ FK[0], mk[1] ^ FK[1], mk[2] ^ FK[2], mk[3] ^ FK[3]];
        let mut rk = [0u32; 32];
        for (index, round_key) in rk.iter_mut().enumerate() {
            let next = k[0] ^ t_prime(k[1] ^ k[2] ^ k[3] ^ CK[index]);
            *round_key = next;
            k = [k[1], k[2], k[3], next];
        }
        mk.zeroize();
        k.zeroize();
        Self { rk }
    }
}

impl BlockSizeUser for Sm4Block {
    type BlockSize = U16;
}

impl ParBlocksSizeUser for Sm4Block {
    type ParBlocksSize = U8;
}

impl BlockCipherEncrypt for Sm4Block {
    #[inline]
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(self)
    }
}

impl BlockCipherEncBackend for Sm4Block {
    #[inline]
    fn encrypt_block(&self, mut block: InOut<'_, '_, Block<Self>>) {
        let mut x = [load(block.get_in())];
        self.rounds(&mut x);
        store(&x[0], block.get_out());
    }

    #[inline]
    fn encrypt_par_blocks(&self, mut blocks: InOut<'_, '_, ParBlocks<Self>>) {
        let input = blocks.get_in();
        let mut x = [[0u32; 4]; LANES];
        for (lane, block) in x.iter_mut().zip(input.iter()) {
            *lane = load(block);
        }
        self.rounds(&mut x);
        for (lane, block) in x.iter().zip(blocks.get_out().iter_mut()) {
            store(lane, block);
        }
    }
}

impl AlgorithmName for Sm4Block {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SM4")
    }
}

impl fmt::Debug for Sm4Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm4Block([REDACTED])")
    }
}

impl Drop for Sm4Block {
    fn drop(&mut self) {
        self.rk.zeroize();
    }
}

impl ZeroizeOnDrop for Sm4Block {}

#[cfg(test)]
mod tests {
    use super::*;
    use cipher::BlockCipherEncrypt;

    /// The eight-lane SM4 matches GB/T 32907 appendix A (one block, and the key encrypted
    /// 1,000,000 times), and the RustCrypto `sm4` crate on random keys and runs of 1 to 20
    /// blocks, which go through both the eight-block and the single-block paths.
    /// req: 5.5.1.1
    #[test]
    fn matches_standard_and_reference_crate() {
        let key: [u8; 16] = hex_literal("0123456789abcdeffedcba9876543210");
        let cipher = Sm4Block::new(&key.into());
        let mut block: Block<Sm4Block> = key.into();
        BlockCipherEncrypt::encrypt_block(&cipher, &mut block);
        assert_eq!(
            block.as_slice(),
            hex_literal::<16>("681edf34d206965e86b3e94f536e4246")
        );
        let mut block: Block<Sm4Block> = key.into();
        for _ in 0..1_000_000 {
            BlockCipherEncrypt::encrypt_block(&cipher, &mut block);
        }
        assert_eq!(
            block.as_slice(),
            hex_literal::<16>("595298c7c6fd271f0402f804c33d3f66")
        );

        for length in 1..=20usize {
            let key: [u8; 16] = crate::random::bytes().expect("rng");
            let mut data = vec![0u8; 16 * length];
            crate::random::fill(&mut data).expect("rng");
            let ours = Sm4Block::new(&key.into());
            let reference = <sm4::Sm4 as sm4::cipher::KeyInit>::new(&key.into());
            let mut ours_blocks: Vec<Block<Sm4Block>> = data
                .chunks_exact(16)
                .map(|chunk| Block::<Sm4Block>::try_from(chunk).expect("16 bytes"))
                .collect();
            BlockCipherEncrypt::encrypt_blocks(&ours, &mut ours_blocks);
            for (index, chunk) in data.chunks_exact(16).enumerate() {
                let mut expected = sm4::cipher::Block::<sm4::Sm4>::try_from(chunk).expect("16");
                sm4::cipher::BlockCipherEncrypt::encrypt_block(&reference, &mut expected);
                assert_eq!(
                    ours_blocks[index].as_slice(),
                    expected.as_slice(),
                    "block {index}"
                );
            }
        }
    }

    fn hex_literal<const N: usize>(text: &str) -> [u8; N] {
        hex::decode(text).expect("hex").try_into().expect("length")
    }
}
