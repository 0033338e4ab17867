//! Systems named on the command line: data files to fit, or model files to load (spec/cli.md §1).

use std::path::{Path, PathBuf};

use dynsim::io::model::{self, NamedOperator};
use dynsim::io::DataShape;
use dynsim::operator::{fit, fit_memory, FitParams, Operator};
use rayon::prelude::*;

use crate::Failure;

/// True for a model file (`.json`).
pub fn is_model(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// One entry per system, in command-line order (spec/cli.md §1): a model file contributes every
/// operator it holds, in the file's order, named `file:name`; data files are fitted with `params`.
///
/// Data files are first checked from their headers alone ([`dynsim::io::peek_dataset`]), in
/// command-line order with the model files, so that the first bad file is the one reported and a job
/// over the memory `budget` (bytes; spec/cli.md §2.3) is refused before anything large is allocated.
/// Then each data file is read and fitted in its own task of the current thread pool, so at most one
/// dataset per thread is in memory at a time; errors are reported in command-line order.
pub fn load(
    paths: &[PathBuf],
    params: &FitParams,
    budget: Option<u64>,
) -> Result<Vec<NamedOperator>, Failure> {
    enum Source {
        Data(usize),
        Model(Vec<NamedOperator>),
    }
    let mut data: Vec<(&Path, DataShape)> = Vec::new();
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        if is_model(path) {
            let ops = model::read(path)?;
            let file = path.display().to_string();
            sources.push(Source::Model(
                ops.into_iter()
                    .map(|n| NamedOperator {
                        name: if n.name.is_empty() {
                            file.clone()
                        } else {
                            format!("{file}:{}", n.name)
                        },
                        operator: n.operator,
                    })
                    .collect(),
            ));
        } else {
            sources.push(Source::Data(data.len()));
            data.push((path, dynsim::io::peek_dataset(path)?));
        }
    }
    check_memory(&data, params, budget)?;
    let mut fitted = data
        .par_iter()
        .map(|(path, _)| {
            let dataset = dynsim::io::read_dataset(path)?;
            fit(&dataset, params)
        })
        .collect::<Vec<dynsim::Result<Operator>>>()
        .into_iter()
        .map(|r| r.map(Some))
        .collect::<dynsim::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for (path, source) in paths.iter().zip(sources) {
        match source {
            Source::Data(i) => out.push(NamedOperator {
                name: path.display().to_string(),
                operator: fitted
                    .get_mut(i)
                    .and_then(Option::take)
                    .ok_or_else(|| Failure {
                        code: 1,
                        message: "internal error: a system was fitted twice".into(),
                    })?,
            }),
            Source::Model(ops) => out.extend(ops),
        }
    }
    Ok(out)
}

/// The process itself (code, thread stacks, allocator), measured at 4–6 MiB resident; counted as
/// 16 MiB.
const PROCESS_BASELINE: u64 = 16 << 20;

/// Refuses the fits when their estimated peak memory exceeds `budget` (spec/cli.md §2.3): each
/// system needs the larger of its read peak and its fit peak (spec/io.md §4.1, spec/operator.md
/// §7.1), and as many systems as there are threads are in memory at once, so the estimate is the sum
/// of the largest `min(threads, systems)` of these peaks.
fn check_memory(
    data: &[(&Path, DataShape)],
    params: &FitParams,
    budget: Option<u64>,
) -> Result<(), Failure> {
    let Some(budget) = budget else {
        return Ok(());
    };
    let mut peaks = Vec::with_capacity(data.len());
    for (i, (_, shape)) in data.iter().enumerate() {
        let fit = fit_memory(&shape.trial_lens, shape.n_features, params)
            .map_err(|e| Failure::usage(e.to_string()))?;
        peaks.push((shape.read_memory().max(fit.total()), i, fit));
    }
    // Largest first; ties in command-line order.
    peaks.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let at_once = rayon::current_num_threads().clamp(1, data.len().max(1));
    let total = peaks
        .iter()
        .take(at_once)
        .fold(PROCESS_BASELINE, |acc, p| acc.saturating_add(p.0));
    let Some(&(peak, largest, fit)) = peaks.first() else {
        return Ok(());
    };
    if total <= budget {
        return Ok(());
    }
    let (path, shape) = &data[largest];
    let span = (params.delay.n_delays - 1) * params.delay.delay_interval;
    let rows: usize = shape
        .trial_lens
        .iter()
        .map(|t| t.saturating_sub(span))
        .sum();
    let cols = shape.n_features.saturating_mul(params.delay.n_delays);
    let together = if at_once > 1 {
        format!(
            "; {at_once} systems are fitted at once ({} threads), {} together",
            rayon::current_num_threads(),
            bytes(total)
        )
    } else {
        String::new()
    };
    Err(Failure {
        code: 1,
        message: format!(
            "{}: the estimated peak memory {} exceeds the --max-memory budget of {}: the fit holds \
             the data ({}), the Hankel matrix {rows} × {cols} ({}) and the regression basis ({}){together}; \
             use fewer --n-delays, a fixed --rank, fewer --threads, or raise --max-memory \
             (`--max-memory none` disables the check)",
            path.display(),
            bytes(if at_once > 1 { total } else { peak.saturating_add(PROCESS_BASELINE) }),
            bytes(budget),
            bytes(fit.dataset),
            bytes(fit.hankel),
            bytes(fit.basis),
        ),
    })
}

/// A byte count for people: binary units, 3 significant digits.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.3} {}", UNITS[unit])
    }
}

/// Exactly one system from `path`.
pub fn load_one(
    path: &Path,
    params: &FitParams,
    budget: Option<u64>,
) -> Result<NamedOperator, Failure> {
    let mut ops = load(&[path.to_path_buf()], params, budget)?;
    if ops.len() != 1 {
        return Err(Failure {
            code: 1,
            message: format!(
                "{}: the model file holds {} operators; give a file with exactly one",
                path.display(),
                ops.len()
            ),
        });
    }
    Ok(ops.remove(0))
}
