//! The ring-attractor case study (spec/cases.md §2): the generator's properties, then what DSA and
//! Procrustes show on readout deformations of the ring and on the morph from ring to line.

use std::f64::consts::{PI, TAU};
use std::sync::OnceLock;

use dynsim::baselines::{pairwise_distances, procrustes_angular, Baseline};
use dynsim::cases::ring::{
    cut_factor, dataset, initial_bump, network, sigmoid_readout, simulate, step, RingParams,
};
use dynsim::dsa::{fit_all, pairwise, DistanceMatrix, Score, ScoreOptions};
use dynsim::embedding::DelayParams;
use dynsim::operator::{FitParams, RankRule};
use dynsim::Error;
use faer::MatRef;

use crate::cases::rounded_json;

/// The morph grid of the study: α = 0, 0.1, …, 1.
const ALPHAS: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// The readout gains of the study.
const BETAS: [f64; 6] = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// DSA settings of the study (spec/cases.md §2): two delays, rank 4.
fn fit_params() -> FitParams {
    FitParams {
        delay: DelayParams {
            n_delays: 2,
            delay_interval: 1,
        },
        rank: RankRule::Fixed(4),
        ..FitParams::default()
    }
}

/// The centre of mass of a rate vector on the ring (written here, independently of the library).
fn centre_of_mass(r: &[f64]) -> f64 {
    let n = r.len() as f64;
    let (c, s) = r.iter().enumerate().fold((0.0, 0.0), |(c, s), (i, &x)| {
        let th = TAU * i as f64 / n;
        (c + x * th.cos(), s + x * th.sin())
    });
    s.atan2(c)
}

/// The angle in (−π, π].
fn wrap(x: f64) -> f64 {
    let y = (x + PI).rem_euclid(TAU) - PI;
    if y == -PI {
        PI
    } else {
        y
    }
}

/// How often the bump's centre of mass passes the point at angle `q` between successive samples
/// (counted when it starts within 1.5 rad of q and changes side).
fn passages(trials: &[Vec<f64>], neurons: usize, q: f64) -> usize {
    let mut count = 0;
    for tr in trials {
        let angles: Vec<f64> = tr.chunks(neurons).map(centre_of_mass).collect();
        for w in angles.windows(2) {
            let x0 = wrap(w[0] - q);
            let x1 = x0 + wrap(w[1] - w[0]);
            if x0.abs() < 1.5 && (x0 < 0.0) != (x1 < 0.0) {
                count += 1;
            }
        }
    }
    count
}

/// Values in scientific notation, for the log.
fn sci(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.3e}")).collect();
    format!("[{}]", parts.join(", "))
}

/// The angle of the cut: between neuron N−1 and neuron 0.
fn cut_angle(neurons: usize) -> f64 {
    -PI / neurons as f64
}

/// The study's simulations along the morph (α = ALPHAS), shared by the two study tests.
fn morph(p: &RingParams) -> Vec<Vec<Vec<f64>>> {
    ALPHAS
        .iter()
        .map(|&cut| simulate(&RingParams { cut, ..p.clone() }).unwrap())
        .collect()
}

fn default_morph() -> &'static Vec<Vec<Vec<f64>>> {
    static MORPH: OnceLock<Vec<Vec<Vec<f64>>>> = OnceLock::new();
    MORPH.get_or_init(|| morph(&RingParams::default()))
}

fn dsa_matrix(data: &[dynsim::embedding::Dataset], score: Score) -> DistanceMatrix {
    let ops = fit_all(data, &[fit_params()]).unwrap();
    pairwise(
        &ops,
        &ScoreOptions {
            score,
            ..ScoreOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn ring_connectivity_is_circulant_and_the_cut_removes_the_wrap_around() {
    let p = RingParams::default();
    let n = p.neurons;
    let ring = network(&p).unwrap();
    // α = 0: W and V depend on (i − j) mod N only (rotation symmetry), V is antisymmetric, W
    // symmetric.
    for i in 0..n {
        for j in 0..n {
            let (i1, j1) = ((i + 1) % n, (j + 1) % n);
            // (The angles of wrapped pairs differ by 2π, which rounds differently: 1e-15.)
            assert!(
                (ring.w[i * n + j] - ring.w[i1 * n + j1]).abs() <= 1e-15,
                "W not circulant"
            );
            assert!(
                (ring.v[i * n + j] - ring.v[i1 * n + j1]).abs() <= 1e-15,
                "V not circulant"
            );
            assert!((ring.w[i * n + j] - ring.w[j * n + i]).abs() <= 1e-15);
            assert!((ring.v[i * n + j] + ring.v[j * n + i]).abs() <= 1e-15);
        }
    }
    // α = 1: across the cut only the global inhibition J₀/N is left; inside, nothing changes.
    // α = 0.5: the local part across the cut is halved.
    for cut in [0.5, 1.0] {
        let net = network(&RingParams { cut, ..p.clone() }).unwrap();
        for i in 0..n {
            for j in 0..n {
                let across = 2 * i.abs_diff(j) > n;
                assert_eq!(
                    cut_factor(i, j, n, cut),
                    if across { 1.0 - cut } else { 1.0 }
                );
                let local = ring.w[i * n + j] - p.j0 / n as f64;
                let expected_w = p.j0 / n as f64 + if across { (1.0 - cut) * local } else { local };
                assert!((net.w[i * n + j] - expected_w).abs() <= 1e-15);
                let expected_v = if across {
                    (1.0 - cut) * ring.v[i * n + j]
                } else {
                    ring.v[i * n + j]
                };
                assert!((net.v[i * n + j] - expected_v).abs() <= 1e-15);
                if cut == 1.0 && across {
                    assert_eq!(net.v[i * n + j], 0.0);
                }
            }
        }
    }
    // Neighbours across the cut (N−1, 0) are coupled on the ring and not on the line.
    let line = network(&RingParams {
        cut: 1.0,
        ..p.clone()
    })
    .unwrap();
    assert!(ring.w[(n - 1) * n] > 0.1);
    assert_eq!(line.w[(n - 1) * n], p.j0 / n as f64);
}

#[test]
fn shifting_the_initial_bump_shifts_the_trajectory_on_the_ring_only() {
    // Without noise, W and V circulant ⇒ the map r ↦ step(r) commutes with the cyclic shift S:
    // step(S^k r) = S^k step(r). So the trajectory from the bump shifted by k neurons is the
    // shifted trajectory (to rounding: the sums run in a different order).
    let p = RingParams {
        noise: 0.0,
        ..RingParams::default()
    };
    let n = p.neurons;
    let run = |p: &RingParams, shift: usize| -> Vec<Vec<f64>> {
        let net = network(p).unwrap();
        let psi = 1.0 + TAU * shift as f64 / n as f64;
        let mut r = initial_bump(n, psi);
        let mut next = vec![0.0; n];
        let xi = vec![0.0; n];
        let mut out = Vec::new();
        for t in 0..600 {
            // A velocity that reverses: the bump travels both ways (and, on the ring, through the
            // cut's position).
            let v = if (t / 150) % 2 == 0 {
                p.velocity
            } else {
                -p.velocity
            };
            step(&net, p, &r, v, &xi, &mut next);
            std::mem::swap(&mut r, &mut next);
            out.push(r.clone());
        }
        out
    };
    let worst_shift_error = |p: &RingParams, k: usize| {
        let (a, b) = (run(p, 0), run(p, k));
        let mut worst = 0.0f64;
        for (ra, rb) in a.iter().zip(&b) {
            for i in 0..n {
                worst = worst.max((rb[(i + k) % n] - ra[i]).abs());
            }
        }
        worst
    };
    for k in [1, 7, 50] {
        let e = worst_shift_error(&p, k);
        assert!(e <= 1e-10, "ring, shift {k}: {e}");
    }
    // The cut breaks the symmetry: a bump started next to the cut does not move like one started
    // opposite to it.
    let cut = RingParams { cut: 1.0, ..p };
    assert!(worst_shift_error(&cut, 50) > 0.1);
}

#[test]
fn the_activity_stays_one_bump() {
    let p = RingParams {
        trials: 4,
        ..RingParams::default()
    };
    let n = p.neurons;
    for cut in [0.0, 1.0] {
        let trials = simulate(&RingParams { cut, ..p.clone() }).unwrap();
        for tr in &trials {
            for r in tr.chunks(n) {
                let max = r.iter().cloned().fold(f64::MIN, f64::max);
                assert!(max > 0.8, "cut {cut}: peak {max}");
                // One bump: the neurons above half the peak lie within one arc of at most 2 rad
                // (measured along the ring, or along the chain for the line). A second bump, or a
                // spread-out state, would need a longer arc.
                let high: Vec<usize> = (0..n).filter(|&i| r[i] > 0.5 * max).collect();
                let width = high.len();
                let spread = if cut == 1.0 {
                    high[width - 1] - high[0]
                } else {
                    let gaps = high.windows(2).map(|w| w[1] - w[0]);
                    let largest = gaps.chain([high[0] + n - high[width - 1]]).max().unwrap();
                    n - largest
                };
                let spread = TAU * spread as f64 / n as f64;
                assert!(spread <= 2.0, "cut {cut}: spread {spread} {r:.2?}");
                assert!((10..=40).contains(&width), "cut {cut}: width {width}");
            }
        }
    }
}

#[test]
fn ring_trials_are_seeded_and_parameters_validated() {
    let p = RingParams {
        trials: 3,
        samples: 20,
        ..RingParams::default()
    };
    let a = simulate(&p).unwrap();
    assert_eq!(a.len(), 3);
    assert!(a.iter().all(|t| t.len() == 20 * p.neurons));
    assert_eq!(simulate(&p).unwrap(), a);
    // Trial k draws from streams of its own: more trials keep the earlier ones.
    let more = simulate(&RingParams {
        trials: 5,
        ..p.clone()
    })
    .unwrap();
    assert_eq!(&more[..3], &a[..]);
    assert_ne!(
        simulate(&RingParams {
            seed: 1,
            ..p.clone()
        })
        .unwrap(),
        a
    );
    let bad = |q: RingParams, name: &str| match simulate(&q) {
        Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
        other => panic!("{name}: {other:?}"),
    };
    bad(
        RingParams {
            cut: 1.5,
            ..p.clone()
        },
        "cut",
    );
    bad(
        RingParams {
            cut: f64::NAN,
            ..p.clone()
        },
        "cut",
    );
    bad(
        RingParams {
            dt: 0.0,
            ..p.clone()
        },
        "dt",
    );
    bad(
        RingParams {
            dt: 2.0,
            ..p.clone()
        },
        "dt",
    );
    bad(
        RingParams {
            noise: -1.0,
            ..p.clone()
        },
        "noise",
    );
    bad(
        RingParams {
            j1: f64::INFINITY,
            ..p.clone()
        },
        "j1",
    );
    bad(
        RingParams {
            neurons: 2,
            ..p.clone()
        },
        "neurons",
    );
    bad(
        RingParams {
            samples: 1,
            ..p.clone()
        },
        "neurons",
    );
    assert!(matches!(
        sigmoid_readout(&a, 0.0, None),
        Err(Error::InvalidParameter { name: "beta", .. })
    ));
    assert!(matches!(
        sigmoid_readout(&a, 1.0, Some(&[f64::NAN])),
        Err(Error::InvalidParameter { name: "scales", .. })
    ));
    assert!(matches!(
        sigmoid_readout(&a, 1.0, Some(&[1.0; 3])),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        sigmoid_readout(&a, 1.0, Some(&[])),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn driven_bump_passes_the_cut_below_the_critical_alpha_only() {
    // Noise-free, at the constant velocity +v: the bump started opposite the cut goes round the
    // ring when α ≤ 0.79 and is stopped at the cut when α ≥ 0.8 (spec/cases.md §2: the topology
    // change of the driven network lies in (0.79, 0.8]). Travelled angle over 60 time units: more
    // than a lap means it passed the cut; stopped, it travels less than the π to the cut.
    let p = RingParams {
        noise: 0.0,
        ..RingParams::default()
    };
    let n = p.neurons;
    let travelled = |cut: f64| {
        let q = RingParams { cut, ..p.clone() };
        let net = network(&q).unwrap();
        let mut r = initial_bump(n, cut_angle(n) + PI);
        let (mut next, xi) = (vec![0.0; n], vec![0.0; n]);
        let mut prev = centre_of_mass(&r);
        let mut total = 0.0;
        for _ in 0..600 {
            step(&net, &q, &r, q.velocity, &xi, &mut next);
            std::mem::swap(&mut r, &mut next);
            let a = centre_of_mass(&r);
            total += wrap(a - prev);
            prev = a;
        }
        total
    };
    for cut in [0.0, 0.7, 0.79] {
        let t = travelled(cut);
        assert!(t > TAU, "α = {cut}: travelled {t}");
    }
    for cut in [0.8, 1.0] {
        let t = travelled(cut);
        assert!(t.abs() < PI, "α = {cut}: travelled {t}");
    }
}

/// The documented fractions (spec/cases.md §2): DSA(ring, readout) ≤ fraction · DSA(ring, line).
const FRACTION_ANGULAR: f64 = 0.2;
const FRACTION_WASSERSTEIN: f64 = 0.01;

/// Per-neuron scales in [0.5, 2) (a golden-ratio sequence: deterministic, no generator).
fn scales(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 + 1.5 * (i as f64 * 0.618_033_988_749_895).fract())
        .collect()
}

/// The readout study on the morph's ring (α = 0) and line (α = 1). Returns the matrices to
/// snapshot.
fn readout_study(p: &RingParams, sims: &[Vec<Vec<f64>>]) -> Vec<(&'static str, Vec<f64>)> {
    let n = p.neurons;
    let (ring, line) = (&sims[0], &sims[sims.len() - 1]);
    // Systems: ring, its sigmoid readouts at each β, the β = 4 readout with per-neuron scales,
    // the line.
    let mut readouts = vec![ring.clone()];
    for &beta in &BETAS {
        readouts.push(sigmoid_readout(ring, beta, None).unwrap());
    }
    readouts.push(sigmoid_readout(ring, 4.0, Some(&scales(n))).unwrap());
    let mut data: Vec<_> = readouts
        .iter()
        .enumerate()
        .map(|(i, r)| dataset(r, n, &format!("readout {i}")).unwrap())
        .collect();
    data.push(dataset(line, n, "line").unwrap());
    let k = data.len();
    let mut snapshots = Vec::new();
    for (score, fraction) in [
        (Score::Angular, FRACTION_ANGULAR),
        (Score::Wasserstein, FRACTION_WASSERSTEIN),
    ] {
        let m = dsa_matrix(&data, score);
        let ring_line = m.get(0, k - 1).unwrap();
        let deformed: Vec<f64> = (1..k - 1).map(|j| m.get(0, j).unwrap()).collect();
        eprintln!(
            "ring (seed {}), DSA {score:?}: ring–line {ring_line:.4e}, ring–readout (β = {BETAS:?}, \
             then β = 4 scaled) {}; largest / ring–line = {:.3}",
            p.seed,
            sci(&deformed),
            deformed.iter().cloned().fold(0.0, f64::max) / ring_line
        );
        for (j, d) in deformed.iter().enumerate() {
            assert!(
                *d <= fraction * ring_line,
                "{score:?}, readout {j}: {d} > {fraction} × {ring_line}"
            );
        }
        snapshots.push((score.name(), m.values));
    }
    // Procrustes (angular) between the ring's rates and each readout: same samples, so it measures
    // the geometric deformation; it must grow strictly with β.
    let flat: Vec<Vec<f64>> = readouts.iter().map(|r| r.concat()).collect();
    let rows = flat[0].len() / n;
    let views: Vec<MatRef<'_, f64>> = flat
        .iter()
        .map(|x| MatRef::from_row_major_slice(x, rows, n))
        .collect();
    let procrustes: Vec<f64> = views[1..=BETAS.len()]
        .iter()
        .map(|&y| procrustes_angular(views[0], y).unwrap())
        .collect();
    eprintln!(
        "ring (seed {}), Procrustes ring–sigmoid(β): {procrustes:.4?}",
        p.seed
    );
    // β → 0 is an affine readout (σ(βr) ≈ ½ + βr/4), at distance 0; the sigmoid bends more as β grows.
    assert!(procrustes[0] < 0.02, "β = 0.5 is nearly affine");
    assert!(procrustes.windows(2).all(|w| w[1] > w[0]), "{procrustes:?}");
    assert!(procrustes[BETAS.len() - 1] > 0.3);
    let matrix = pairwise_distances(&views, Baseline::ProcrustesAngular).unwrap();
    snapshots.push(("procrustes", matrix));
    snapshots
}

/// The morph study. Returns the matrices to snapshot. `strict`: the largest angular step must be
/// the step into the change itself (true at seeds 0, 1, 2; at seed 3 it is the step before:
/// spec/cases.md §2), else one of the two steps ending at the change.
fn morph_study(
    p: &RingParams,
    sims: &[Vec<Vec<f64>>],
    strict: bool,
) -> Vec<(&'static str, Vec<f64>)> {
    let n = p.neurons;
    // The topology the trials visit, independently of DSA: the bump passes the cut while α ≤ 0.7
    // and never from α = 0.8 on (passages of the opposite point are the control).
    let through_cut: Vec<usize> = sims.iter().map(|t| passages(t, n, cut_angle(n))).collect();
    let opposite: Vec<usize> = sims
        .iter()
        .map(|t| passages(t, n, cut_angle(n) + PI))
        .collect();
    eprintln!(
        "ring morph (seed {}): passages through the cut {through_cut:?}, opposite {opposite:?}",
        p.seed
    );
    assert!(opposite.iter().all(|&c| c > 50));
    let change = through_cut.iter().position(|&c| c == 0).unwrap();
    assert_eq!(ALPHAS[change], 0.8);
    assert!(through_cut[..change].iter().all(|&c| c > 20));
    assert!(through_cut[change..].iter().all(|&c| c == 0));
    let data: Vec<_> = sims
        .iter()
        .zip(ALPHAS)
        .map(|(t, a)| dataset(t, n, &format!("alpha={a}")).unwrap())
        .collect();
    let k = data.len();
    let mut snapshots = Vec::new();
    for score in [Score::Angular, Score::Wasserstein] {
        let m = dsa_matrix(&data, score);
        let steps: Vec<f64> = (0..k - 1).map(|i| m.get(i, i + 1).unwrap()).collect();
        let to_ring: Vec<f64> = (0..k).map(|i| m.get(0, i).unwrap()).collect();
        eprintln!(
            "ring morph (seed {}), DSA {score:?}: to the ring {}; steps {}",
            p.seed,
            sci(&to_ring),
            sci(&steps)
        );
        let largest = (0..k - 1)
            .max_by(|&a, &b| steps[a].total_cmp(&steps[b]))
            .unwrap();
        if score == Score::Angular {
            // The largest jump is the step into the topology change (α = 0.7 → 0.8), or with
            // `strict` off the step before it …
            if strict {
                assert_eq!(largest + 1, change, "steps {steps:?}");
            } else {
                assert!(largest + 2 >= change && largest < change, "steps {steps:?}");
            }
        }
        // … and past it (the line phase) DSA does not move.
        let jump = steps[change - 1];
        assert!(
            steps[change..].iter().all(|&s| s < 0.1 * jump),
            "{score:?}: {steps:?}"
        );
        snapshots.push((score.name(), m.values));
    }
    snapshots
}

#[test]
fn dsa_is_nearly_invariant_to_readout_deformations_while_procrustes_grows() {
    // Snapshots guard the numbers; the assertions inside the study are why they are right.
    for (name, values) in readout_study(&RingParams::default(), default_morph()) {
        let size = (values.len() as f64).sqrt() as usize;
        insta::assert_snapshot!(format!("ring_readouts_{name}"), rounded_json(size, &values));
    }
}

#[test]
fn dsa_jumps_where_the_ring_is_cut_into_a_line() {
    for (name, values) in morph_study(&RingParams::default(), default_morph(), true) {
        let size = (values.len() as f64).sqrt() as usize;
        insta::assert_snapshot!(format!("ring_morph_{name}"), rounded_json(size, &values));
    }
}

/// The larger version (README, "Case studies"): both studies at seeds 1–3 and with 40 trials.
#[test]
#[ignore = "about 4 minutes in the test profile; run with --ignored"]
fn ring_studies_hold_over_seeds_and_more_trials() {
    let mut settings = vec![];
    for seed in 1..=3 {
        settings.push(RingParams {
            seed,
            ..RingParams::default()
        });
    }
    settings.push(RingParams {
        trials: 40,
        ..RingParams::default()
    });
    for p in settings {
        let sims = morph(&p);
        readout_study(&p, &sims);
        morph_study(&p, &sims, false);
    }
}
