//! `dynsim demo`: the saddle / line / point attractor study (spec/cases.md §1) on the built-in,
//! seeded generator. Prints the DSA and Procrustes distance matrices side by side as shaded heat
//! maps, the silhouette and 1-NN accuracy of each, and an ASCII picture of the classical MDS of the
//! DSA matrix; `--svg FILE` also writes the heat maps and the MDS scatter as an SVG.

use std::fmt::Write as _;
use std::path::Path;

use dynsim::analysis::{classical_mds, nearest_neighbor_accuracy, silhouette};
use dynsim::baselines::{pairwise_distances, Baseline};
use dynsim::cases::attractors::{saddle_line_point, AttractorParams, AttractorSystem};
use dynsim::dsa::{fit_all, pairwise, Score, ScoreOptions};
use dynsim::embedding::DelayParams;
use dynsim::faer::{Mat, MatRef};
use dynsim::operator::{FitParams, RankRule};

use crate::Failure;

/// One distance matrix of the demo.
struct Panel {
    title: &'static str,
    values: Vec<f64>,
    silhouette: f64,
    nn: f64,
}

impl Panel {
    fn new(
        title: &'static str,
        k: usize,
        values: Vec<f64>,
        labels: &[usize],
    ) -> Result<Panel, Failure> {
        let m = MatRef::from_row_major_slice(&values, k, k);
        Ok(Panel {
            title,
            silhouette: silhouette(m, labels)?,
            nn: nearest_neighbor_accuracy(m, labels)?,
            values,
        })
    }

    fn max(&self) -> f64 {
        self.values.iter().fold(0.0f64, |a, &b| a.max(b))
    }
}

const SHADES: &[char] = &[' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];

fn shade(v: f64, max: f64) -> char {
    let level = if max > 0.0 {
        (v / max * 9.0).round() as usize
    } else {
        0
    };
    SHADES[level.min(9)]
}

const CLASS_LETTERS: [char; 3] = ['S', 'L', 'P'];

/// Runs the demo; `svg` also writes the figure.
pub fn run(svg: Option<&Path>) -> Result<(), Failure> {
    let params = AttractorParams::default();
    let systems: Vec<AttractorSystem> = saddle_line_point(&params)?;
    let labels: Vec<usize> = systems.iter().map(|s| s.class.label()).collect();
    let k = systems.len();
    let data = systems
        .iter()
        .map(AttractorSystem::dataset)
        .collect::<dynsim::Result<Vec<_>>>()?;
    let fit_params = FitParams {
        delay: DelayParams {
            n_delays: 1,
            delay_interval: 1,
        },
        rank: RankRule::Full,
        ..FitParams::default()
    };
    let ops = fit_all(&data, &[fit_params])?;
    let mut panels = Vec::new();
    for (title, score) in [
        ("DSA angular", Score::Angular),
        ("DSA wasserstein", Score::Wasserstein),
    ] {
        let m = pairwise(
            &ops,
            &ScoreOptions {
                score,
                ..ScoreOptions::default()
            },
        )?;
        panels.push(Panel::new(title, k, m.values, &labels)?);
    }
    let averages: Vec<Mat<f64>> = systems.iter().map(|s| s.condition_average()).collect();
    let views: Vec<MatRef<'_, f64>> = averages.iter().map(|a| a.as_ref()).collect();
    let procrustes = pairwise_distances(&views, Baseline::ProcrustesAngular)?;
    panels.push(Panel::new(
        "Procrustes (cond. avg)",
        k,
        procrustes,
        &labels,
    )?);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "dynsim demo: saddle vs line vs point attractor (spec/cases.md §1)\n\
         {} models per class, {} trials × {} steps × 2 features each, the same condition-averaged \
         trajectories by construction.\nDSA: n_delays = 1, full rank; Procrustes: angular shape distance \
         of the condition averages.\n",
        params.models_per_class,
        2 * params.trials_per_condition,
        params.steps
    );
    // Heat maps side by side, shaded from 0 (blank) to each matrix's maximum (@).
    let width = k + 2;
    let mut line = String::from("    ");
    for p in &panels {
        let _ = write!(line, "{:<w$}  ", p.title, w = width.max(p.title.len()));
    }
    let _ = writeln!(out, "{line}");
    for i in 0..k {
        let mut line = format!("{}{:<2} ", CLASS_LETTERS[labels[i]], systems[i].model);
        for p in &panels {
            let max = p.max();
            let row: String = (0..k).map(|j| shade(p.values[i * k + j], max)).collect();
            let _ = write!(
                line,
                "[{row}]{:pad$}  ",
                "",
                pad = width.max(p.title.len()) - width
            );
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out);
    for p in &panels {
        let _ = writeln!(
        out,
            "{:<24} silhouette {:+.3}   nearest neighbour in own class {:>5.1}%   max distance {:.3e}",
            p.title,
            p.silhouette,
            100.0 * p.nn,
            p.max()
        );
    }
    // MDS of the DSA angular matrix.
    let mds = classical_mds(MatRef::from_row_major_slice(&panels[0].values, k, k), 2)?;
    let _ = writeln!(
        out,
        "\nclassical MDS of the DSA angular matrix (S saddle, L line, P point):"
    );
    let (cols, rows) = (60usize, 16usize);
    let xy: Vec<(f64, f64)> = (0..k)
        .map(|i| (mds.coordinates[(i, 0)], mds.coordinates[(i, 1)]))
        .collect();
    let (x0, x1) = bounds(xy.iter().map(|p| p.0));
    let (y0, y1) = bounds(xy.iter().map(|p| p.1));
    let mut grid = vec![vec![' '; cols]; rows];
    for (i, &(x, y)) in xy.iter().enumerate() {
        let c = (((x - x0) / (x1 - x0)) * (cols - 1) as f64).round() as usize;
        let r = (((y1 - y) / (y1 - y0)) * (rows - 1) as f64).round() as usize;
        grid[r.min(rows - 1)][c.min(cols - 1)] = CLASS_LETTERS[labels[i]];
    }
    let _ = writeln!(out, "  +{}+", "-".repeat(cols));
    for row in grid {
        let _ = writeln!(out, "  |{}|", row.into_iter().collect::<String>());
    }
    let _ = writeln!(out, "  +{}+", "-".repeat(cols));
    if let Some(path) = svg {
        dynsim::io::write_atomic(path, figure(&panels, &labels, &xy).as_bytes())?;
        let _ = writeln!(out, "\nwrote {}", path.display());
    }
    crate::json::emit(&out)
}

fn bounds(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    }
}

const COLORS: [&str; 3] = ["#d62728", "#1f77b4", "#2ca02c"];

/// The SVG: one heat map per panel (white = 0, dark = the panel's maximum) and the MDS scatter.
fn figure(panels: &[Panel], labels: &[usize], xy: &[(f64, f64)]) -> String {
    let cell = 12.0;
    let k = labels.len();
    let side = cell * k as f64;
    let gap = 40.0;
    let width = (panels.len() as f64 + 1.0) * (side + gap) + gap;
    let height = side + 2.0 * gap + 20.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (p_index, p) in panels.iter().enumerate() {
        let x0 = gap + p_index as f64 * (side + gap);
        let y0 = gap;
        let _ = writeln!(
            s,
            "<text x=\"{x0}\" y=\"{}\">{} (silhouette {:.2})</text>",
            y0 - 10.0,
            p.title,
            p.silhouette
        );
        let max = p.max();
        for i in 0..k {
            for j in 0..k {
                let v = if max > 0.0 {
                    p.values[i * k + j] / max
                } else {
                    0.0
                };
                let level = (255.0 * (1.0 - v)).round().clamp(0.0, 255.0) as u8;
                let _ = writeln!(
                    s,
                    "<rect x=\"{}\" y=\"{}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({level},{level},{level})\"/>",
                    x0 + j as f64 * cell,
                    y0 + i as f64 * cell
                );
            }
        }
        for (i, &l) in labels.iter().enumerate() {
            let _ = writeln!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"4\" height=\"{cell}\" fill=\"{}\"/>",
                x0 - 6.0,
                y0 + i as f64 * cell,
                COLORS[l]
            );
        }
    }
    let x0 = gap + panels.len() as f64 * (side + gap);
    let _ = writeln!(
        s,
        "<text x=\"{x0}\" y=\"{}\">MDS of DSA angular (red saddle, blue line, green point)</text>",
        gap - 10.0
    );
    let _ = writeln!(
        s,
        "<rect x=\"{x0}\" y=\"{gap}\" width=\"{side}\" height=\"{side}\" fill=\"none\" stroke=\"black\"/>"
    );
    let (a0, a1) = bounds(xy.iter().map(|p| p.0));
    let (b0, b1) = bounds(xy.iter().map(|p| p.1));
    for (i, &(x, y)) in xy.iter().enumerate() {
        let px = x0 + 10.0 + (x - a0) / (a1 - a0) * (side - 20.0);
        let py = gap + 10.0 + (b1 - y) / (b1 - b0) * (side - 20.0);
        let _ = writeln!(
            s,
            "<circle cx=\"{px:.2}\" cy=\"{py:.2}\" r=\"4\" fill=\"{}\"/>",
            COLORS[labels[i]]
        );
    }
    s.push_str("</svg>\n");
    s
}
