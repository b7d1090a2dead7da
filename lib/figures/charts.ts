/**
 * Charts: vega-lite specs compiled and rendered to SVG by vega at build time, so the report shows
 * them with no JavaScript. Each function returns a spec; {@link chartSvg} renders any of them.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";

// deno-lint-ignore no-explicit-any
export type VegaLiteSpec = Record<string, any>;

const CONFIG = {
  font: "DejaVu Sans, Helvetica, Arial, sans-serif",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};

/** Renders a vega-lite spec to a standalone SVG string. */
export async function chartSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = vl.compile(
    { config: CONFIG, background: "white", ...spec } as vl.TopLevelSpec,
  ).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Train and test loss per epoch for one or more models (`series` names the line). */
export function lossCurveSpec(
  rows: { model: string; epoch: number; split: string; loss: number }[],
  title: string,
): VegaLiteSpec {
  const models = new Set(rows.map((r) => r.model)).size;
  return {
    title,
    width: 520,
    height: 260,
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "epoch",
        type: "quantitative",
        title: "epoch",
        axis: { tickMinStep: 1 },
      },
      y: {
        field: "loss",
        type: "quantitative",
        title: "MSE",
        scale: { zero: false },
      },
      color: {
        field: models > 1 ? "model" : "split",
        type: "nominal",
        title: models > 1 ? "model" : "split",
      },
      ...(models > 1 ? { strokeDash: { field: "split", type: "nominal", title: "split" } } : {}),
    },
  };
}

/** Horizontal bars of RMSE per model or baseline, best first, with optional leaderboard rules. */
export function rmseBarsSpec(
  rows: { name: string; rmse: number; kind: string }[],
  marks: { label: string; rmse: number }[],
  title: string,
): VegaLiteSpec {
  const layers: VegaLiteSpec[] = [{
    mark: "bar",
    encoding: {
      y: {
        field: "name",
        type: "nominal",
        sort: null,
        title: null,
        // No limit: without a canvas vega overestimates label widths, and limits of 320 and 360
        // px still cut the longest model name (41 characters).
        axis: { labelLimit: 0 },
      },
      x: {
        field: "rmse",
        type: "quantitative",
        title: "RMSE (lower is better)",
      },
      color: { field: "kind", type: "nominal", title: null },
    },
  }, {
    mark: { type: "text", align: "left", dx: 3, fontSize: 10 },
    encoding: {
      // The same axis settings as the bars', which share this axis.
      y: {
        field: "name",
        type: "nominal",
        sort: null,
        title: null,
        axis: { labelLimit: 0 },
      },
      x: { field: "rmse", type: "quantitative" },
      text: { field: "rmse", type: "quantitative", format: ".4f" },
    },
  }];
  if (marks.length > 0) {
    layers.push({
      data: { values: marks },
      mark: { type: "rule", strokeDash: [4, 3], color: "#888" },
      encoding: { x: { field: "rmse", type: "quantitative" } },
    }, {
      data: { values: marks },
      // Above the plot, level: rotated labels stood taller than the bars below them.
      mark: {
        type: "text",
        align: "center",
        baseline: "bottom",
        dy: -4,
        fontSize: 9,
        color: "#666",
        y: 0,
      },
      encoding: {
        x: { field: "rmse", type: "quantitative" },
        text: { field: "label" },
      },
    });
  }
  return {
    title,
    width: 460,
    height: { step: 22 },
    data: { values: rows },
    layer: layers,
  };
}

/** Grouped bars of a value per question (RMSE per question, one colour per model). */
export function perQuestionSpec(
  rows: { question: string; model: string; rmse: number }[],
  title: string,
): VegaLiteSpec {
  return {
    title,
    width: 520,
    height: 240,
    data: { values: rows },
    mark: "bar",
    encoding: {
      x: { field: "question", type: "nominal", sort: null, title: "question" },
      xOffset: { field: "model", type: "nominal" },
      y: { field: "rmse", type: "quantitative", title: "RMSE" },
      color: { field: "model", type: "nominal", title: "model" },
    },
  };
}

/** The distinct class ids of `rows` in the order they first appear. */
function inOrder(rows: { classId: string }[]): string[] {
  return [...new Set(rows.map((r) => r.classId))];
}

/** Small multiples: the distribution of each class's probabilities. */
export function distributionsSpec(
  rows: { classId: string; bin: number; share: number }[],
  title: string,
): VegaLiteSpec {
  return {
    title,
    data: { values: rows },
    facet: {
      field: "classId",
      type: "nominal",
      // The decision tree's order (Class1.1 ... Class11.6); `sort: null` still sorts as text.
      sort: inOrder(rows),
      title: null,
      header: { labelFontSize: 10 },
    },
    columns: 8,
    spec: {
      width: 70,
      height: 45,
      mark: "bar",
      encoding: {
        x: {
          field: "bin",
          type: "quantitative",
          bin: { binned: true, step: 0.1 },
          title: null,
          scale: { domain: [0, 1] },
          axis: { labelFontSize: 8, values: [0, 0.5, 1] },
        },
        x2: { field: "binEnd" },
        y: {
          field: "share",
          type: "quantitative",
          title: null,
          axis: { labelFontSize: 8, format: "%", tickCount: 2 },
        },
      },
    },
    transform: [{ calculate: "datum.bin + 0.1", as: "binEnd" }],
  };
}

/** Predicted against true probability for a few classes, as 2-D histograms. */
export function predictedVsTrueSpec(
  rows: { classId: string; truth: number; predicted: number }[],
  title: string,
): VegaLiteSpec {
  return {
    title,
    data: { values: rows },
    facet: { field: "classId", type: "nominal", sort: inOrder(rows), title: null },
    columns: 4,
    spec: {
      width: 120,
      height: 120,
      layer: [{
        mark: "rect",
        encoding: {
          x: {
            field: "truth",
            type: "quantitative",
            bin: { maxbins: 20, extent: [0, 1] },
            title: "true",
          },
          y: {
            field: "predicted",
            type: "quantitative",
            bin: { maxbins: 20, extent: [0, 1] },
            title: "predicted",
          },
          color: {
            aggregate: "count",
            type: "quantitative",
            scale: { type: "log", scheme: "blues" },
            title: "galaxies",
          },
        },
      }],
    },
  };
}
