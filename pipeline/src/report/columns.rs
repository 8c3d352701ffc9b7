//! Typed columns of the run tables, for figures and reports.

use std::path::Path;

use polars::prelude::*;
use store::table::read_frame;

use super::plot::PlotResult;

pub(crate) fn frame(path: &Path) -> PlotResult<DataFrame> {
    read_frame(path).map_err(|e| e.to_string())
}

pub(crate) fn col_f64(df: &DataFrame, name: &str) -> PlotResult<Vec<f64>> {
    let c = df
        .column(name)
        .and_then(|c| c.cast(&DataType::Float64))
        .map_err(|e| format!("column `{name}`: {e}"))?;
    Ok(c.f64()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

pub(crate) fn col_opt_i64(df: &DataFrame, name: &str) -> PlotResult<Vec<Option<i64>>> {
    let c = df
        .column(name)
        .and_then(|c| c.cast(&DataType::Int64))
        .map_err(|e| format!("column `{name}`: {e}"))?;
    Ok(c.i64().map_err(|e| e.to_string())?.iter().collect())
}

pub(crate) fn col_str(df: &DataFrame, name: &str) -> PlotResult<Vec<String>> {
    let c = df
        .column(name)
        .map_err(|e| format!("column `{name}`: {e}"))?;
    Ok(c.str()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

pub(crate) fn col_f32_lists(df: &DataFrame, name: &str) -> PlotResult<Vec<Vec<f32>>> {
    let c = df
        .column(name)
        .map_err(|e| format!("column `{name}`: {e}"))?;
    let lists = c.list().map_err(|e| format!("column `{name}`: {e}"))?;
    lists
        .amortized_iter()
        .map(|s| {
            let s = s
                .map(|s| s.as_ref().clone())
                .unwrap_or_default()
                .cast(&DataType::Float32)
                .map_err(|e| e.to_string())?;
            Ok(s.f32()
                .map_err(|e| e.to_string())?
                .iter()
                .map(|v| v.unwrap_or(f32::NAN))
                .collect())
        })
        .collect()
}
