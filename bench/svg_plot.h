// A minimal line-chart writer for benchmark plots (SVG, no dependencies).

#ifndef EBB_BENCH_SVG_PLOT_H_
#define EBB_BENCH_SVG_PLOT_H_

#include <string>
#include <utility>
#include <vector>

namespace ebb::bench {

class SvgPlot {
 public:
  SvgPlot(std::string title, std::string x_label, std::string y_label)
      : title_(std::move(title)), x_label_(std::move(x_label)), y_label_(std::move(y_label)) {}
  void AddSeries(std::string name, std::vector<std::pair<double, double>> points) {
    series_.push_back({std::move(name), std::move(points)});
  }
  // A vertical line at x with a label.
  void AddMarker(double x, std::string label) { markers_.push_back({x, std::move(label)}); }
  std::string Render() const;

 private:
  struct Series {
    std::string name;
    std::vector<std::pair<double, double>> points;
  };
  std::string title_, x_label_, y_label_;
  std::vector<Series> series_;
  std::vector<std::pair<double, std::string>> markers_;
};

}  // namespace ebb::bench

#endif  // EBB_BENCH_SVG_PLOT_H_
