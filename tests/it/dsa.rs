//! Tests of `dynsim::dsa` (spec/pipeline.md).

use std::collections::BTreeMap;

use dynsim::alignment::{align_from, PavfOptions};
use dynsim::dsa::{
    assemble, common_size, compare, cross, fit_all, pair_list, pairwise, repair_triangles,
    score_pairs, split_scores, with_threads, DistanceMatrix, Score, ScoreOptions, Shard,
};
use dynsim::embedding::{Dataset, DelayParams};
use dynsim::operator::{FitParams, Operator, RankRule};
use dynsim::Error;
use faer::Mat;

use crate::common::*;

/// Noisy trajectories of a random stable linear system (spectral radius ≈ 0.9), K trials.
fn noisy_system(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut r = rng(seed);
    let g = gaussian_matrix(n, n, &mut r);
    let radius = singular_values(&g)[0];
    let a = Mat::from_fn(n, n, |i, j| 0.9 * g[(i, j)] / radius);
    (0..4)
        .map(|_| {
            let mut x: Vec<f64> = (0..n).map(|_| gaussian(&mut r)).collect();
            let mut out = Vec::new();
            for _ in 0..80 {
                out.extend_from_slice(&x);
                x = (0..n)
                    .map(|i| (0..n).map(|j| a[(i, j)] * x[j]).sum::<f64>() + 0.1 * gaussian(&mut r))
                    .collect();
            }
            out
        })
        .collect()
}

fn dataset(trials: &[Vec<f64>], n: usize) -> Dataset {
    let slices: Vec<&[f64]> = trials.iter().map(Vec::as_slice).collect();
    Dataset::from_trials(&slices, n).unwrap()
}

fn params(d: usize, rank: RankRule) -> FitParams {
    FitParams {
        delay: DelayParams {
            n_delays: d,
            delay_interval: 1,
        },
        rank,
        ..FitParams::default()
    }
}

fn operators(count: usize, n: usize, seed: u64) -> Vec<Operator> {
    let data: Vec<Dataset> = (0..count)
        .map(|s| dataset(&noisy_system(n, seed + s as u64), n))
        .collect();
    fit_all(&data, &[params(2, RankRule::Fixed(6))]).unwrap()
}

fn assert_symmetric_zero_diagonal(m: &DistanceMatrix) {
    for i in 0..m.rows {
        assert_eq!(m.get(i, i), Some(0.0));
        for j in 0..m.cols {
            assert_eq!(
                m.get(i, j).unwrap().to_bits(),
                m.get(j, i).unwrap().to_bits()
            );
        }
    }
}

#[test]
fn rotated_readout_is_at_zero_distance_for_every_score() {
    // upstream.md §8.7 through the whole pipeline.
    let n = 4;
    let trials = noisy_system(n, 3);
    let q = random_orthogonal(n, &mut rng(99));
    let rotated: Vec<Vec<f64>> = trials.iter().map(|t| readout(t, n, &q)).collect();
    let ops = fit_all(
        &[dataset(&trials, n), dataset(&rotated, n)],
        &[params(3, RankRule::Fixed(7))],
    )
    .unwrap();
    for score in Score::ALL {
        let opts = ScoreOptions {
            score,
            ..ScoreOptions::default()
        };
        let d = compare(&ops[0], &ops[1], &opts).unwrap().value;
        assert!(d.abs() <= 1e-8, "{}: {d:e}", score.name());
    }
}

#[test]
fn thread_count_does_not_change_a_bit() {
    let ops = operators(6, 3, 10);
    for score in [Score::Angular, Score::Wasserstein] {
        let opts = ScoreOptions {
            score,
            ..ScoreOptions::default()
        };
        let one = with_threads(Some(1), || pairwise(&ops, &opts))
            .unwrap()
            .unwrap();
        let two = with_threads(Some(2), || pairwise(&ops, &opts))
            .unwrap()
            .unwrap();
        let bits = |m: &DistanceMatrix| m.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one), bits(&two), "{}", score.name());
        assert_symmetric_zero_diagonal(&one);
    }
    assert!(matches!(
        with_threads(Some(0), || ()),
        Err(Error::InvalidParameter {
            name: "threads",
            ..
        })
    ));
}

#[test]
fn pavf_matrix_satisfies_the_triangle_inequality() {
    // 12 systems; a deliberately weak optimiser (no random restarts, stop at the first start) makes
    // local optima, and with them triangle violations, likely; the repair must remove all of them and
    // every entry must stay an achieved value (≥ its certified lower bound).
    let ops = operators(12, 4, 40);
    let weak = PavfOptions {
        restarts: Some(0),
        agreement: 1,
        ..PavfOptions::default()
    };
    for score in [Score::Angular, Score::Euclidean] {
        let m = pairwise(
            &ops,
            &ScoreOptions {
                score,
                pavf: weak.clone(),
                ..ScoreOptions::default()
            },
        )
        .unwrap();
        assert_symmetric_zero_diagonal(&m);
        let k = m.rows;
        for i in 0..k {
            for j in 0..k {
                for l in 0..k {
                    let (a, b, c) = (
                        m.get(i, l).unwrap(),
                        m.get(i, j).unwrap(),
                        m.get(j, l).unwrap(),
                    );
                    assert!(
                        a <= b + c + 1e-12,
                        "{}: d({i},{l}) = {a} > {b} + {c}",
                        score.name()
                    );
                }
                if i != j {
                    let cert = m.certificates[i * k + j].as_ref().unwrap();
                    let lb = if score == Score::Angular {
                        cert.angular_lower_bound
                    } else {
                        cert.euclidean_lower_bound
                    };
                    assert!(lb <= m.get(i, j).unwrap() + 1e-12);
                }
            }
        }
        eprintln!(
            "{}: repaired {} entries in {} sweeps",
            score.name(),
            m.repaired,
            m.repair_sweeps
        );
    }
}

#[test]
fn cross_matches_pairwise_for_spectral_scores() {
    let ops = operators(5, 3, 70);
    let opts = ScoreOptions {
        score: Score::Wasserstein2,
        ..ScoreOptions::default()
    };
    let p = pairwise(&ops, &opts).unwrap();
    let c = cross(&ops, &ops, &opts).unwrap();
    for i in 0..5 {
        for j in 0..5 {
            if i != j {
                assert_eq!(p.get(i, j), c.get(i, j));
            }
        }
    }
    let one = cross(&ops[..1], &ops[1..], &opts).unwrap();
    assert_eq!((one.rows, one.cols), (1, 4));
    assert_eq!(one.get(0, 2), p.get(0, 3));
}

#[test]
fn per_system_parameters_and_errors() {
    let data = [
        dataset(&noisy_system(3, 1), 3),
        dataset(&noisy_system(3, 2), 3),
    ];
    let ops = fit_all(
        &data,
        &[params(1, RankRule::Full), params(2, RankRule::Fixed(5))],
    )
    .unwrap();
    assert_eq!((ops[0].rank(), ops[1].rank()), (3, 5));
    // Different ranks: PAVF pads to 5, spectral scores use transport.
    for score in Score::ALL {
        let v = compare(
            &ops[0],
            &ops[1],
            &ScoreOptions {
                score,
                ..ScoreOptions::default()
            },
        )
        .unwrap()
        .value;
        assert!(v.is_finite() && v > 0.0);
    }
    assert!(matches!(
        fit_all(&data, &[params(1, RankRule::Full); 3]),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        Score::parse("cosine"),
        Err(Error::InvalidParameter { name: "score", .. })
    ));
    for s in Score::ALL {
        assert_eq!(Score::parse(s.name()).unwrap(), s);
    }
}

#[test]
fn repair_removes_every_violation_of_a_bad_first_pass() {
    // A deliberately bad first pass on near-conjugate operators A_i ≈ Q_i A Q_iᵀ: neighbours (i, i+1)
    // are scored at their planted alignment Q_i Q_{i+1}ᵀ (small values), every other pair at a
    // Haar-random C (an achieved value, far from optimal), so violations abound. The repair must
    // remove every violation, only ever lower entries, and leave each entry achieved by its C.
    let mut r = rng(80);
    let base = gaussian_matrix(6, 6, &mut r);
    let qs: Vec<Mat<f64>> = (0..8).map(|_| random_orthogonal(6, &mut r)).collect();
    let ops: Vec<Operator> = qs
        .iter()
        .map(|q| {
            let noise = gaussian_matrix(6, 6, &mut r);
            let conj = matmul(&matmul(q, &base), &transpose(q));
            let a = Mat::from_fn(6, 6, |i, j| conj[(i, j)] + 0.05 * noise[(i, j)]);
            Operator::from_parts(a, vec![1.0; 6], 0.0, FitParams::default(), 6, 100, 99).unwrap()
        })
        .collect();
    let opts = ScoreOptions {
        score: Score::Angular,
        ..ScoreOptions::default()
    };
    let score_only = PavfOptions {
        max_iterations: 0,
        ..PavfOptions::default()
    };
    let k = ops.len();
    let mut m = DistanceMatrix {
        rows: k,
        cols: k,
        values: vec![0.0; k * k],
        certificates: vec![None; k * k],
        repaired: 0,
        repaired_pairs: Vec::new(),
        repair_sweeps: 0,
    };
    let mut cs: BTreeMap<(usize, usize), Mat<f64>> = BTreeMap::new();
    for i in 0..k {
        for j in i + 1..k {
            let c = if j == i + 1 {
                matmul(&qs[i], &transpose(&qs[j]))
            } else {
                random_orthogonal(6, &mut r)
            };
            let al = align_from(ops[i].matrix(), ops[j].matrix(), c.as_ref(), &score_only).unwrap();
            m.values[i * k + j] = al.angular;
            m.values[j * k + i] = al.angular;
            cs.insert((i, j), al.c);
        }
    }
    let first = m.values.clone();
    let violations = |v: &[f64]| {
        let mut count = 0;
        for i in 0..k {
            for j in 0..k {
                for l in 0..k {
                    if v[i * k + l] > v[i * k + j] + v[j * k + l] + 1e-12 {
                        count += 1;
                    }
                }
            }
        }
        count
    };
    assert!(
        violations(&first) > 0,
        "the test needs violations to repair"
    );
    repair_triangles(&ops, &opts, &mut m, &mut cs).unwrap();
    assert_eq!(violations(&m.values), 0);
    assert!(m.repaired > 0 && m.repair_sweeps < dynsim::dsa::MAX_REPAIR_SWEEPS);
    for (after, before) in m.values.iter().zip(&first) {
        assert!(after <= before);
    }
    // Every entry is achieved by the stored alignment: re-score it.
    for i in 0..k {
        for j in i + 1..k {
            let c = &cs[&(i, j)];
            let al = align_from(ops[i].matrix(), ops[j].matrix(), c.as_ref(), &score_only).unwrap();
            assert!((al.angular - m.values[i * k + j]).abs() < 1e-12);
        }
    }
    eprintln!(
        "bad first pass: {} violating triples, repaired {} entries in {} sweeps",
        violations(&first),
        m.repaired,
        m.repair_sweeps
    );
}

#[test]
fn shards_partition_every_pair_list() {
    for p in 0..=100usize {
        for count in 1..=12usize {
            let mut next = 0;
            let mut sizes = Vec::new();
            for index in 0..count {
                let r = Shard::new(index, count).unwrap().range(p);
                assert_eq!(r.start, next, "contiguous, in order (P = {p}, K = {count})");
                next = r.end;
                sizes.push(r.len());
            }
            assert_eq!(next, p, "covers the list");
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1, "balanced: {sizes:?}");
        }
    }
    assert_eq!(Shard::parse("2/5").unwrap(), Shard { index: 2, count: 5 });
    for bad in ["3/2", "0/0", "2", "a/b", "-1/3", "1/3/4"] {
        assert!(
            matches!(
                Shard::parse(bad),
                Err(Error::InvalidParameter { name: "shard", .. })
            ),
            "{bad}"
        );
    }
    // Pair lists: i < j row by row; cross: all pairs row by row.
    assert_eq!(
        pair_list(4, None),
        vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    );
    assert_eq!(pair_list(2, Some(2)), vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
    assert!(pair_list(1, None).is_empty());
}

#[test]
fn sharded_first_pass_plus_repair_equals_pairwise_bit_for_bit() {
    // Three clusters of near-conjugate 8 × 8 operators: small legs inside a cluster, rugged
    // landscapes across clusters; the assembled shards, repaired with no stored alignments (every C recomputed),
    // must give exactly the matrix `pairwise` gives.
    // A deliberately weak search (one start, no random restarts, a few iterations) leaves poor
    // values, so the repair has work to do.
    let mut r = rng(300);
    let bases: Vec<Mat<f64>> = (0..3).map(|_| gaussian_matrix(8, 8, &mut r)).collect();
    let ops: Vec<Operator> = (0..12)
        .map(|s| {
            let q = random_orthogonal(8, &mut r);
            let noise = gaussian_matrix(8, 8, &mut r);
            let conj = matmul(&matmul(&q, &bases[s % 3]), &transpose(&q));
            let a = Mat::from_fn(8, 8, |i, j| conj[(i, j)] + 0.01 * noise[(i, j)]);
            Operator::from_parts(a, vec![1.0; 8], 0.0, FitParams::default(), 8, 100, 99).unwrap()
        })
        .collect();
    let weak = PavfOptions {
        agreement: 1,
        restarts: Some(0),
        max_iterations: 3,
        ..PavfOptions::default()
    };
    for score in [Score::Angular, Score::Euclidean, Score::Wasserstein1] {
        let opts = ScoreOptions {
            score,
            pavf: weak.clone(),
            ..ScoreOptions::default()
        };
        let full = pairwise(&ops, &opts).unwrap();
        let pairs = pair_list(ops.len(), None);
        let size = common_size(&ops);
        let mut values = Vec::new();
        let mut certs = Vec::new();
        for index in 0..4 {
            let r = Shard::new(index, 4).unwrap().range(pairs.len());
            let scored = score_pairs(&ops, &ops, &pairs[r], size, &opts, None).unwrap();
            let (v, c) = split_scores(scored);
            values.extend(v);
            certs.extend(c);
        }
        let mut merged = assemble(ops.len(), ops.len(), true, &pairs, &values, certs).unwrap();
        if score.is_pavf() {
            repair_triangles(&ops, &opts, &mut merged, &mut BTreeMap::new()).unwrap();
        }
        let bits = |m: &DistanceMatrix| m.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&full), bits(&merged), "{score:?}");
        assert_eq!(full.repaired_pairs, merged.repaired_pairs);
        if score.is_pavf() {
            assert!(full.repaired > 0, "{score:?}: the test needs repairs");
        }
        assert_eq!(full.certificates, merged.certificates);
    }
    // assemble refuses lists that do not describe the matrix.
    assert!(assemble(3, 3, true, &[(1, 0)], &[1.0], vec![None]).is_err());
    assert!(assemble(3, 3, true, &[(0, 1)], &[1.0, 2.0], vec![None]).is_err());
    assert!(assemble(2, 3, true, &[], &[], vec![]).is_err());
}
