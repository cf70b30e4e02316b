//! Property tests of the BCH code and of the fuzzy extractor built on it: every error pattern
//! of weight ≤ t is corrected; weight t + 1 never yields a key, let alone a wrong one.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test helpers on fixed test data

use cphar_puf::bch::{Bch, BchError};
use cphar_puf::extractor::{BCH_M, BCH_POLY, BCH_T};
use cphar_puf::{FuzzyExtractor, PufError, Response};
use proptest::prelude::*;
use proptest::sample::subsequence;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::OnceLock;

fn code() -> &'static Bch {
    static CODE: OnceLock<Bch> = OnceLock::new();
    CODE.get_or_init(|| Bch::new(BCH_M, BCH_POLY, BCH_T).unwrap())
}

fn extractor() -> &'static FuzzyExtractor {
    static FE: OnceLock<FuzzyExtractor> = OnceLock::new();
    FE.get_or_init(|| FuzzyExtractor::new().unwrap())
}

fn random_bits(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len)
        .map(|_| u8::from(rng.next_u32() & 1 == 1))
        .collect()
}

fn positions(weight: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<usize>> {
    subsequence((0..1023usize).collect::<Vec<_>>(), weight)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_pattern_of_weight_at_most_t_is_corrected(seed in any::<u64>(), errors in positions(0..=BCH_T)) {
        let c = code();
        let codeword = c.encode(&random_bits(seed, c.k())).unwrap();
        let mut word = codeword.clone();
        for &p in &errors {
            word[p] ^= 1;
        }
        prop_assert_eq!(c.decode(&mut word), Ok(errors.len()));
        prop_assert_eq!(word, codeword);
    }

    #[test]
    fn weight_t_plus_one_never_decodes_to_the_sent_codeword(seed in any::<u64>(), errors in positions(BCH_T + 1..=BCH_T + 1)) {
        let c = code();
        let codeword = c.encode(&random_bits(seed, c.k())).unwrap();
        let mut word = codeword.clone();
        for &p in &errors {
            word[p] ^= 1;
        }
        match c.decode(&mut word) {
            Err(BchError::Uncorrectable) => {}
            // A miscorrection lands on another codeword (the extractor's key check is what
            // refuses it): never on the one sent.
            Ok(_) => prop_assert_ne!(word, codeword),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    #[test]
    fn the_extractor_gives_back_the_key_within_t_and_no_key_beyond(seed in any::<u64>(), errors in positions(0..=BCH_T + 1)) {
        let fe = extractor();
        let reference = Response::from_bits(&random_bits(seed, 1023));
        let (key, helper) = fe.enroll(&reference, &mut StdRng::seed_from_u64(seed ^ 1)).unwrap();
        let mut bits = reference.bits().to_vec();
        for &p in &errors {
            bits[p] ^= 1;
        }
        let result = fe.reproduce(&Response::from_bits(&bits), &helper);
        if errors.len() <= BCH_T {
            prop_assert_eq!(*result.unwrap(), *key);
        } else {
            prop_assert!(matches!(result, Err(PufError::Uncorrectable | PufError::KeyCheckFailed)));
        }
    }
}

#[test]
fn miscorrections_beyond_t_are_refused_by_the_key_check() {
    // Far beyond t the decoder sometimes lands on another codeword; the key check must turn
    // every such case into an error. Count both outcomes to show the path is exercised.
    let fe = extractor();
    let reference = Response::from_bits(&random_bits(1, 1023));
    let (_, helper) = fe
        .enroll(&reference, &mut StdRng::seed_from_u64(2))
        .unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let (mut uncorrectable, mut key_check) = (0, 0);
    for _ in 0..300 {
        // A read of an unrelated device: about half the bits differ.
        let other = Response::from_bits(
            &(0..1023)
                .map(|_| u8::from(rng.next_u32() & 1 == 1))
                .collect::<Vec<_>>(),
        );
        match fe.reproduce(&other, &helper) {
            Err(PufError::Uncorrectable) => uncorrectable += 1,
            Err(PufError::KeyCheckFailed) => key_check += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(uncorrectable + key_check, 300);
}
