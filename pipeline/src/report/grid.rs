//! Category figures drawn cell by cell: the confusion matrix and the
//! per-class precision / recall / F1 bars, with class names as labels.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::{err, font, legend_row, legend_split, text_width, PlotResult, SERIES};

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Height in pixels of a figure's heading (title and subtitle).
pub const HEADING: i32 = 64;

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

/// Where the parts of a confusion matrix go: margins sized to the longest
/// class name, so there is room for every label and no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfusionLayout {
    /// Classes (rows and columns).
    pub n: i32,
    /// Side of a cell.
    pub cell: i32,
    /// Left of the grid: row names and the "actual class" label.
    pub left: i32,
    /// Above the grid (under the heading).
    pub top: i32,
    /// Under the grid: column names and the "predicted class" label.
    pub bottom: i32,
    /// Right of the grid: the colour bar and its scale.
    pub right: i32,
}

impl ConfusionLayout {
    /// The layout for these class names, at least `min_width` pixels wide
    /// (the heading's width: a long run name never runs off the figure).
    pub fn for_classes(classes: &[String], min_width: u32) -> ConfusionLayout {
        let label = classes.iter().map(|c| text_width(c, 14)).max().unwrap_or(0) as i32;
        let n = classes.len().max(1) as i32;
        let (cell, right) = (48, 150);
        let left = (40 + label + 12).max(min_width as i32 - n * cell - right);
        ConfusionLayout {
            n,
            cell,
            left,
            top: 16,
            bottom: label + 12 + 44,
            right,
        }
    }

    /// The whole figure, heading included, in pixels.
    pub fn size(&self) -> (u32, u32) {
        let grid = self.n * self.cell;
        (
            (self.left + grid + self.right) as u32,
            (HEADING + self.top + grid + self.bottom) as u32,
        )
    }
}

/// A confusion matrix: `counts[actual][predicted]`, each cell shaded by its
/// share of the row (recall on the diagonal) and labelled with its count;
/// a colour bar on the right says what the shades mean.
pub fn confusion(
    area: &Area<'_>,
    l: &ConfusionLayout,
    classes: &[String],
    counts: &[Vec<i64>],
) -> PlotResult {
    let (left, top, cell) = (l.left, l.top, l.cell);
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
    let grid = classes.len() as i32 * cell;
    for (i, name) in classes.iter().enumerate() {
        let mid = i as i32 * cell + cell / 2;
        area.draw(&Text::new(
            name.clone(),
            (left - 8, top + mid),
            font(14).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
        rotated_label(area, name, (left + mid, top + grid + 8))?;
    }
    area.draw(&Text::new(
        "predicted class",
        (left + grid / 2, top + grid + l.bottom - 20),
        font(16).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)?;
    area.draw(&Text::new(
        "actual class",
        (16, top + grid / 2),
        font(16)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)?;
    share_bar(area, (left + grid + 24, top), grid)
}

/// The confusion matrix's colour bar: 0 to 100 % of the actual class's
/// clips, with its meaning written beside it.
fn share_bar(area: &Area<'_>, (x, y): (i32, i32), height: i32) -> PlotResult {
    let width = 18;
    let steps = height.max(1);
    for i in 0..steps {
        // Top is 100 %.
        let f = 1.0 - i as f64 / steps as f64;
        area.draw(&Rectangle::new(
            [(x, y + i), (x + width, y + i + 1)],
            blues(f).filled(),
        ))
        .map_err(err)?;
    }
    area.draw(&Rectangle::new(
        [(x, y), (x + width, y + height)],
        BLACK.mix(0.4),
    ))
    .map_err(err)?;
    for pct in [0, 25, 50, 75, 100] {
        let ty = y + height - height * pct / 100;
        area.draw(&PathElement::new(
            vec![(x + width, ty), (x + width + 4, ty)],
            BLACK,
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            format!("{pct} %"),
            (x + width + 7, ty),
            font(13).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    area.draw(&Text::new(
        "share of the actual class's clips (each row sums to 100 %)",
        (x + width + 62, y + height / 2),
        font(14)
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)
}

/// Grouped bars: for each class, one bar per named score (%), the class's
/// test count under its name; a zero score is drawn as a mark on the
/// axis with its value, so it is not mistaken for a missing bar. The
/// legend sits in a strip under the chart, never over a bar.
pub fn class_bars(
    area: &Area<'_>,
    classes: &[String],
    counts: &[i64],
    scores: &[(&str, Vec<f64>)],
    x_desc: &str,
) -> PlotResult {
    let n = classes.len();
    let (area, strip) = legend_split(area, scores.len());
    let names: Vec<String> = classes
        .iter()
        .enumerate()
        .map(|(c, name)| format!("{name} (n={})", counts.get(c).copied().unwrap_or(0)))
        .collect();
    let label = names.iter().map(|n| text_width(n, 14)).max().unwrap_or(0) as i32;
    let (upper, lower) = area.split_vertically(area.dim_in_pixel().1 as i32 - label - 44);
    let mut chart = ChartBuilder::on(&upper)
        .margin(10)
        .margin_right(20)
        .x_label_area_size(5)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n as f64, 0.0..100.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .light_line_style(WHITE)
        .y_desc("score (%)")
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()
        .map_err(err)?;
    let k = scores.len().max(1) as f64;
    let width = 0.8 / k;
    for (s, (_, values)) in scores.iter().enumerate() {
        let colour = SERIES[s % SERIES.len()];
        for (c, &v) in values.iter().enumerate() {
            let x = c as f64 + 0.1 + s as f64 * width;
            if v > 0.0 {
                chart
                    .draw_series([Rectangle::new([(x, 0.0), (x + width, v)], colour.filled())])
                    .map_err(err)?;
            } else {
                let (x0, y0) = chart.backend_coord(&(x, 0.0));
                let (x1, _) = chart.backend_coord(&(x + width, 0.0));
                upper
                    .draw(&Rectangle::new([(x0, y0 - 3), (x1, y0)], colour.filled()))
                    .map_err(err)?;
                upper
                    .draw(&Text::new(
                        "0",
                        ((x0 + x1) / 2, y0 - 5),
                        font(12).pos(Pos::new(HPos::Center, VPos::Bottom)),
                    ))
                    .map_err(err)?;
            }
        }
    }
    // Class names (and test counts) under their bars, then the axis label.
    for (c, name) in names.iter().enumerate() {
        let (x, _) = chart.backend_coord(&(c as f64 + 0.5, 0.0));
        rotated_label(&lower, name, (x, 4))?;
    }
    let (w, h) = lower.dim_in_pixel();
    lower
        .draw(&Text::new(
            x_desc.to_string(),
            (w as i32 / 2, h as i32 - 14),
            font(16).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(err)?;
    if let Some(strip) = strip {
        let names: Vec<&str> = scores.iter().map(|(n, _)| *n).collect();
        legend_row(&strip, &names)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pixels of exactly `c` in an RGB buffer.
    fn count(buf: &[u8], c: RGBColor) -> usize {
        buf.chunks_exact(3)
            .filter(|p| p[0] == c.0 && p[1] == c.1 && p[2] == c.2)
            .count()
    }

    #[test]
    fn regression_a_zero_score_is_drawn_not_left_blank() {
        let draw = |score: f64| {
            let mut buf = vec![255u8; 400 * 400 * 3];
            {
                let root = BitMapBackend::with_buffer(&mut buf, (400, 400)).into_drawing_area();
                let classes = ["angry".to_string()];
                class_bars(&root, &classes, &[16], &[("F1", vec![score])], "class").unwrap();
                root.present().unwrap();
            }
            count(&buf, SERIES[0])
        };
        let zero = draw(0.0);
        assert!(zero > 0, "a zero bar left no mark");
        assert!(
            zero < draw(50.0),
            "the zero mark is smaller than a real bar"
        );
    }
}
