//! Category figures drawn cell by cell: the confusion matrix and the
//! per-class precision / recall / F1 bars, with class names as labels.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::{err, font, PlotResult, SERIES};

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// White to dark blue (matplotlib's "Blues" ends).
fn blues(f: f64) -> RGBColor {
    let f = f.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

fn rotated_label(area: &Area<'_>, text: &str, (x, y): (i32, i32)) -> PlotResult {
    let style = font(14)
        .transform(FontTransform::Rotate90)
        .pos(Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(text.to_string(), (x, y), style))
        .map_err(err)
}

/// A confusion matrix: `counts[actual][predicted]`, each cell shaded by its
/// share of the row (recall on the diagonal) and labelled with its count.
pub fn confusion(
    area: &Area<'_>,
    title: &str,
    classes: &[String],
    counts: &[Vec<i64>],
) -> PlotResult {
    let n = classes.len();
    let (w, h) = area.dim_in_pixel();
    let (left, bottom, top, right) = (190i32, 170i32, 60i32, 30i32);
    let cell = ((w as i32 - left - right).min(h as i32 - top - bottom) / n.max(1) as i32).max(8);
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 22),
        font(22).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)?;
    for (a, row) in counts.iter().enumerate() {
        let total: i64 = row.iter().sum();
        for (p, &c) in row.iter().enumerate() {
            let f = if total > 0 {
                c as f64 / total as f64
            } else {
                0.0
            };
            let (x, y) = (left + p as i32 * cell, top + a as i32 * cell);
            area.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                blues(f).filled(),
            ))
            .map_err(err)?;
            area.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                BLACK.mix(0.15),
            ))
            .map_err(err)?;
            let colour = if f > 0.5 { WHITE } else { BLACK };
            area.draw(&Text::new(
                c.to_string(),
                (x + cell / 2, y + cell / 2),
                font(14)
                    .color(&colour)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(err)?;
        }
    }
    for (i, name) in classes.iter().enumerate() {
        let mid = i as i32 * cell + cell / 2;
        area.draw(&Text::new(
            name.clone(),
            (left - 8, top + mid),
            font(14).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
        rotated_label(area, name, (left + mid, top + n as i32 * cell + 8))?;
    }
    let grid = n as i32 * cell;
    area.draw(&Text::new(
        "predicted class",
        (left + grid / 2, top + grid + bottom - 18),
        font(16).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)?;
    area.draw(&Text::new(
        "actual class",
        (14, top + grid / 2),
        font(16)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)
}

/// Grouped bars: for each class, one bar per named score (0-1).
pub fn class_bars(
    area: &Area<'_>,
    title: &str,
    classes: &[String],
    scores: &[(&str, Vec<f64>)],
) -> PlotResult {
    let n = classes.len();
    let (upper, lower) = area.split_vertically(area.dim_in_pixel().1 as i32 - 150);
    let mut chart = ChartBuilder::on(&upper)
        .caption(title, font(22))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(5)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n as f64, 0.0..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .light_line_style(WHITE)
        .y_desc("score")
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()
        .map_err(err)?;
    let k = scores.len().max(1) as f64;
    let width = 0.8 / k;
    for (s, (name, values)) in scores.iter().enumerate() {
        let colour = SERIES[s % SERIES.len()];
        chart
            .draw_series(values.iter().enumerate().map(|(c, &v)| {
                let x = c as f64 + 0.1 + s as f64 * width;
                Rectangle::new([(x, 0.0), (x + width, v)], colour.filled())
            }))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .label_font(font(15))
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(err)?;
    // Class names under their bars, in the lower strip.
    for (c, name) in classes.iter().enumerate() {
        let (x, _) = chart.backend_coord(&(c as f64 + 0.5, 0.0));
        rotated_label(&lower, name, (x, 4))?;
    }
    Ok(())
}
