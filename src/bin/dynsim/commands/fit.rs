//! `dynsim fit DATA [fit options] [--save MODEL]` (spec/cli.md §3.1).

use std::path::Path;

use dynsim::io::model::{self, NamedOperator, OperatorRecord};
use dynsim::operator::FitParams;

use crate::options::FitArgs;
use crate::{json, systems, Failure};

/// The fit parameters, validated; a model file is a usage error.
pub fn validate(data: &Path, fit: &FitArgs) -> Result<FitParams, Failure> {
    let params = fit.params()?;
    if systems::is_model(data) {
        return Err(Failure::usage(format!(
            "{}: `fit` needs a data file (.npy / .npz), not a model file",
            data.display()
        )));
    }
    Ok(params)
}

/// Fits one system, prints its operator record (the model-file record) as JSON, and saves it.
pub fn run(data: &Path, fit: &FitArgs, save: Option<&Path>) -> Result<(), Failure> {
    let params = validate(data, fit)?;
    let op = systems::load_one(data, &params, fit.budget())?;
    if let Some(path) = save {
        model::write(path, std::slice::from_ref(&op))?;
    }
    let NamedOperator { name, operator } = &op;
    let record = OperatorRecord::new(name, operator);
    let value = serde_json::to_value(&record).map_err(|e| Failure {
        code: 1,
        message: format!("cannot serialise the operator: {e}"),
    })?;
    json::print(&value)
}
