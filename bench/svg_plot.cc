#include "bench/svg_plot.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace ebb::bench {

std::string SvgPlot::Render() const {
  const double w = 900, h = 420, left = 70, right = 160, top = 40, bottom = 50;
  double xmax = 1, ymax = 1;
  for (const auto& s : series_) {
    for (const auto& [x, y] : s.points) {
      xmax = std::max(xmax, x);
      ymax = std::max(ymax, y);
    }
  }
  for (const auto& [x, label] : markers_) xmax = std::max(xmax, x);
  ymax *= 1.1;
  auto px = [&](double x) { return left + (w - left - right) * x / xmax; };
  auto py = [&](double y) { return h - bottom - (h - top - bottom) * y / ymax; };
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"22\" font-size=\"14\">{}</text>\n",
      w, h, left, title_);
  // Axes with ticks.
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, h - bottom, w - right);
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, top, h - bottom);
  for (int i = 0; i <= 5; i++) {
    double xv = xmax * i / 5, yv = ymax * i / 5;
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.1f}</text>\n", px(xv), h - bottom + 16, xv);
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.1f}</text>\n", left - 6, py(yv) + 4, yv);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#eee\"/>\n", left, py(yv), w - right, py(yv));
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (left + w - right) / 2, h - 12, x_label_);
  out += fmt::format("<text x=\"16\" y=\"{}\" transform=\"rotate(-90 16 {})\" text-anchor=\"middle\">{}</text>\n",
                     (top + h - bottom) / 2, (top + h - bottom) / 2, y_label_);
  for (const auto& [x, label] : markers_) {
    out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"gray\" stroke-dasharray=\"4,3\"/>\n",
                       px(x), top, h - bottom);
    out += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"gray\">{}</text>\n", px(x) + 3, top + 12, label);
  }
  for (size_t i = 0; i < series_.size(); i++) {
    const char* color = kColors[i % 6];
    std::string points;
    for (const auto& [x, y] : series_[i].points) points += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    out += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n", color, points);
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"3\" fill=\"{}\"/>\n", w - right + 12,
                       top + 20 * i + 6, color);
    out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", w - right + 30, top + 20 * i + 11, series_[i].name);
  }
  out += "</svg>\n";
  return out;
}

}  // namespace ebb::bench
