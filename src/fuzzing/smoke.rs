//! The one random loop behind the fuzz targets' smoke tests (each target's `smoke` test in its module, and
//! `tests/fuzz_corpus.rs`): `cargo test` runs every target on a few hundred generated inputs, the same ones
//! on every run (a fixed seed), and a failure names the target, the seed and the round and keeps the input
//! for `corpus/regressions/<target>/`. Plus the input shapes the loops share.

use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use rand::{Rng, SeedableRng};

/// The random generator the loops draw from (seeded, so every run sees the same inputs).
pub type SmokeRng = rand_chacha::ChaCha8Rng;

/// A reproducible random loop over one fuzz target: `rounds` rounds drawn from a generator seeded with
/// `seed`.
#[derive(Clone, Copy, Debug)]
pub struct SmokeLoop {
    /// The target's name (as in [`super::TARGETS`]), for the failure message and the saved input.
    pub target: &'static str,
    /// The generator's seed.
    pub seed: u64,
    /// How many rounds.
    pub rounds: usize,
}

impl SmokeLoop {
    /// Runs `target` on the inputs `inputs` makes for each round (given the generator and the round
    /// number), in order. If the target panics, writes that input to the temporary directory, says which
    /// target, seed, round and input it was and where the input is, and panics on with the target's panic.
    pub fn run(
        self,
        target: impl Fn(&[u8]),
        mut inputs: impl FnMut(&mut SmokeRng, usize) -> Vec<Vec<u8>>,
    ) {
        let mut rng = SmokeRng::seed_from_u64(self.seed);
        for round in 0..self.rounds {
            for (index, input) in inputs(&mut rng, round).iter().enumerate() {
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(input))) {
                    let saved = self.save_failing_input(round, index, input);
                    eprintln!(
                        "smoke: {} panicked on round {round} (seed {}), input {index} of the round \
                         ({} bytes){saved}",
                        self.target,
                        self.seed,
                        input.len()
                    );
                    resume_unwind(panic);
                }
            }
        }
    }

    /// Writes a failing input to the temporary directory; returns the text that says where (or why not).
    fn save_failing_input(&self, round: usize, index: usize, input: &[u8]) -> String {
        let name = format!(
            "smoke-{}-seed{}-round{round}-input{index}-pid{}",
            self.target,
            self.seed,
            std::process::id()
        );
        let path: PathBuf = std::env::temp_dir().join(name);
        match std::fs::write(&path, input) {
            Ok(()) => format!(", saved as {}", path.display()),
            Err(error) => format!(", not saved ({}: {error})", path.display()),
        }
    }
}

/// Fewer than `max_len` random bytes (the length drawn first, uniformly).
pub fn random_bytes(rng: &mut SmokeRng, max_len: u32) -> Vec<u8> {
    let len = rng.gen_range(0..max_len);
    (0..len).map(|_| rng.gen()).collect()
}

/// `data` behind a valid flattened-format header, so that the flattened parsers read it as records.
pub fn behind_flat_header(data: &[u8]) -> Vec<u8> {
    let mut flat = crate::sink::flat_header_bytes().to_vec();
    flat.extend_from_slice(data);
    flat
}

/// Overwrites a random number (drawn from `count`) of random bytes of `data` with random values; does
/// nothing to an empty `data`.
pub fn overwrite_random_bytes(rng: &mut SmokeRng, data: &mut [u8], count: Range<u32>) {
    for _ in 0..rng.gen_range(count) {
        if !data.is_empty() {
            let at = rng.gen_range(0..data.len());
            data[at] = rng.gen();
        }
    }
}

/// Flips one random bit of a random byte of `data[within]`.
pub fn flip_random_bit(rng: &mut SmokeRng, data: &mut [u8], within: Range<usize>) {
    let at = rng.gen_range(within);
    data[at] ^= 1 << rng.gen_range(0..8u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loop runs every input of every round, in order, and draws them from the seeded generator.
    #[test]
    fn every_round_runs_its_inputs_in_order_and_the_same_on_each_run() {
        let collect = || {
            let seen = std::cell::RefCell::new(Vec::new());
            SmokeLoop {
                target: "test",
                seed: 3,
                rounds: 4,
            }
            .run(
                |input| seen.borrow_mut().push(input.to_vec()),
                |rng, round| vec![vec![round as u8], random_bytes(rng, 16)],
            );
            seen.into_inner()
        };
        let first = collect();
        assert_eq!(first.len(), 8);
        let rounds: Vec<u8> = first.iter().step_by(2).map(|input| input[0]).collect();
        assert_eq!(rounds, [0, 1, 2, 3]);
        assert_eq!(first, collect());
    }

    /// A panic of the target reaches the test, and the failing input is kept.
    #[test]
    fn a_panic_of_the_target_is_passed_on_and_its_input_saved() {
        let smoke = SmokeLoop {
            target: "smoke-self-test",
            seed: 1,
            rounds: 3,
        };
        let outcome = catch_unwind(|| {
            smoke.run(
                |input| assert_ne!(input, b"round 1"),
                |_, round| vec![format!("round {round}").into_bytes()],
            )
        });
        assert!(outcome.is_err());
        let saved = std::env::temp_dir().join(format!(
            "smoke-smoke-self-test-seed1-round1-input0-pid{}",
            std::process::id()
        ));
        assert_eq!(std::fs::read(&saved).unwrap(), b"round 1");
        std::fs::remove_file(saved).unwrap();
    }
}
