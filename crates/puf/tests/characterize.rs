//! A small characterization run: inter-device HD ≈ 50 %, intra-device HD within the
//! configured noise, every re-derivation within the code's capability succeeds.

use cphar_puf::characterize::{self, Config};
use cphar_puf::sram::SimulatedSram;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn a_small_run_measures_what_the_model_configures() {
    for mean_flip in [0.02, 0.04] {
        let c = characterize::run(Config {
            devices: 60,
            reads: 20,
            mean_flip,
            seed: 11,
        })
        .unwrap();
        assert_eq!(c.inter.count, 60 * 59 / 2);
        assert!((c.inter.mean - 0.5).abs() < 0.01, "inter {:?}", c.inter);
        // sd of a Binomial(1023, ½) fraction ≈ 0.0156.
        assert!(
            (c.inter.stddev - 0.0156).abs() < 0.004,
            "inter {:?}",
            c.inter
        );
        assert_eq!(c.intra.count, 60 * 20);
        // Against a majority reference a read differs by about μ (a little less: the clip
        // at ½; a little more: cells the majority got wrong).
        assert!(
            (c.intra.mean - mean_flip).abs() < 0.2 * mean_flip,
            "μ {mean_flip}: intra {:?}",
            c.intra
        );
        assert_eq!(c.attempts, 1200);
        assert_eq!(c.wrong_keys, 0);
        assert_eq!(c.failures(), 0, "{c:?}");
        assert!(
            c.predicted_failure_rate < 1e-6,
            "{}",
            c.predicted_failure_rate
        );
        assert_eq!(
            c.inter_histogram.counts.iter().sum::<u64>(),
            c.inter.count as u64
        );
        assert_eq!(
            c.intra_histogram.counts.iter().sum::<u64>(),
            c.intra.count as u64
        );
    }
}

#[test]
fn too_much_noise_shows_up_as_failures_and_in_the_prediction() {
    // At μ = 11 % a read has ≈ 112 errors: beyond t = 106 most of the time.
    let c = characterize::run(Config {
        devices: 10,
        reads: 20,
        mean_flip: 0.11,
        seed: 5,
    })
    .unwrap();
    assert!(c.failures() > 20, "{c:?}");
    assert_eq!(c.wrong_keys, 0);
    assert!(
        c.predicted_failure_rate > 0.1,
        "{}",
        c.predicted_failure_rate
    );
    let observed = c.failure_rate();
    assert!(
        (observed - c.predicted_failure_rate).abs() < 0.2,
        "{observed} vs {}",
        c.predicted_failure_rate
    );
}

#[test]
fn runs_are_reproducible_from_their_seed() {
    let config = Config {
        devices: 5,
        reads: 3,
        mean_flip: 0.03,
        seed: 42,
    };
    assert_eq!(
        characterize::run(config).unwrap(),
        characterize::run(config).unwrap()
    );
    let other = characterize::run(Config { seed: 43, ..config }).unwrap();
    assert_ne!(characterize::run(config).unwrap().inter, other.inter);
}

#[test]
fn the_enrollment_reference_is_closer_than_a_single_read() {
    let device = SimulatedSram::new(&[3; 32], 0.04);
    let mut rng = StdRng::seed_from_u64(1);
    let reference = device.enrollment_read(&mut rng);
    let single = device.read(&mut rng);
    let (mut to_reference, mut to_single) = (0.0, 0.0);
    for _ in 0..50 {
        let r = device.read(&mut rng);
        to_reference += r.distance(&reference);
        to_single += r.distance(&single);
    }
    assert!(
        to_reference < 0.7 * to_single,
        "{to_reference} vs {to_single}"
    );
}
