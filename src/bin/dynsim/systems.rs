//! Systems named on the command line: data files to fit, or model files to load (spec/cli.md §1).

use std::path::{Path, PathBuf};

use dynsim::dsa::fit_all;
use dynsim::embedding::Dataset;
use dynsim::io::model::{self, NamedOperator};
use dynsim::operator::FitParams;

use crate::Failure;

/// True for a model file (`.json`).
pub fn is_model(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// One entry per system, in command-line order: data files are read and fitted with `params` (in
/// parallel, in the current thread pool); a model file contributes every operator it holds, in the
/// file's order, named `file:name`.
pub fn load(paths: &[PathBuf], params: &FitParams) -> Result<Vec<NamedOperator>, Failure> {
    // Read every data file first (in order, so the first bad file is the one reported).
    enum Source {
        Data(usize),
        Model(Vec<NamedOperator>),
    }
    let mut datasets: Vec<Dataset> = Vec::new();
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
            sources.push(Source::Data(datasets.len()));
            datasets.push(dynsim::io::read_dataset(path)?);
        }
    }
    let mut fitted = fit_all(&datasets, &[*params])?
        .into_iter()
        .map(Some)
        .collect::<Vec<_>>();
    let mut out = Vec::new();
    for (path, source) in paths.iter().zip(sources) {
        match source {
            Source::Data(i) => out.push(NamedOperator {
                name: path.display().to_string(),
                operator: fitted[i].take().ok_or_else(|| Failure {
                    code: 1,
                    message: "internal error: a system was fitted twice".into(),
                })?,
            }),
            Source::Model(ops) => out.extend(ops),
        }
    }
    Ok(out)
}

/// Exactly one system from `path`.
pub fn load_one(path: &Path, params: &FitParams) -> Result<NamedOperator, Failure> {
    let mut ops = load(&[path.to_path_buf()], params)?;
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
