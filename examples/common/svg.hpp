// examples/common/svg.hpp: minimal SVG figures (scatter and line plots) for the examples.
//
// A figure is a grid of panels; each panel has axes with ticks, a title, and series drawn
// as points or polylines, with an optional log-scale y axis and a legend.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

struct series {
  std::string name;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
  bool line = false;       // polyline instead of points
  double radius = 1.2;     // point radius
  double opacity = 0.5;
};

struct panel {
  std::string title, xlabel, ylabel;
  std::vector<series> data;
  bool log_y = false;
  bool log_x = false;
  bool equal_aspect = false;
};

inline const char* palette(std::size_t i) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                 "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  return colors[i % 8];
}

namespace detail {

inline std::string fmt(double v) {
  std::ostringstream os;
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e4)) {
    os.precision(1);
    os << std::scientific << v;
  } else {
    os.precision(3);
    os << v;
  }
  return os.str();
}

inline std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

inline std::vector<double> ticks(double lo, double hi, bool log) {
  std::vector<double> t;
  if (log) {
    for (double e = std::floor(lo); e <= std::ceil(hi) + 1e-9; e += 1)
      if (e >= lo - 1e-9 && e <= hi + 1e-9) t.push_back(e);
    return t;
  }
  const double span = hi - lo;
  if (!(span > 0)) return {lo};
  const double raw = span / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) { step = m * mag; break; }
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step)
    t.push_back(std::abs(v) < 1e-12 * span ? 0.0 : v);
  return t;
}

}  // namespace detail

/// Writes panels in a grid of `cols` columns to `path`. Throws std::runtime_error if the file
/// cannot be written.
inline void write_svg(const std::string& path, const std::vector<panel>& panels, int cols = 2,
                      double panel_w = 420, double panel_h = 340) {
  const int n = static_cast<int>(panels.size());
  const int rows = (n + cols - 1) / cols;
  const double W = panel_w * std::min(n, cols), H = panel_h * rows;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << ' ' << H << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (int p = 0; p < n; ++p) {
    const panel& pn = panels[static_cast<std::size_t>(p)];
    const double ox = (p % cols) * panel_w, oy = (p / cols) * panel_h;
    const double L = ox + 60, R = ox + panel_w - 15, T = oy + 30, B = oy + panel_h - 45;
    auto tx = [&](double v) { return pn.log_x ? std::log10(v) : v; };
    auto ty = [&](double v) { return pn.log_y ? std::log10(v) : v; };
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
    for (const auto& sr : pn.data) {
      for (std::size_t i = 0; i < sr.x.size() && i < sr.y.size(); ++i) {
        const double a = tx(sr.x[i]), b = ty(sr.y[i]);
        if (!std::isfinite(a) || !std::isfinite(b)) continue;
        x0 = std::min(x0, a); x1 = std::max(x1, a); y0 = std::min(y0, b); y1 = std::max(y1, b);
      }
    }
    if (!std::isfinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
    if (x1 - x0 < 1e-12) { x0 -= 0.5; x1 += 0.5; }
    if (y1 - y0 < 1e-12) { y0 -= 0.5; y1 += 0.5; }
    const double px = 0.04 * (x1 - x0), py = 0.04 * (y1 - y0);
    x0 -= px; x1 += px; y0 -= py; y1 += py;
    if (pn.equal_aspect) {
      const double sx = (x1 - x0) / (R - L), sy = (y1 - y0) / (B - T), sc = std::max(sx, sy);
      const double cx = 0.5 * (x0 + x1), cy = 0.5 * (y0 + y1);
      x0 = cx - sc * (R - L) / 2; x1 = cx + sc * (R - L) / 2;
      y0 = cy - sc * (B - T) / 2; y1 = cy + sc * (B - T) / 2;
    }
    auto X = [&](double v) { return L + (tx(v) - x0) / (x1 - x0) * (R - L); };
    auto Y = [&](double v) { return B - (ty(v) - y0) / (y1 - y0) * (B - T); };
    s << "<text x=\"" << (L + R) / 2 << "\" y=\"" << oy + 18
      << "\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">" << detail::esc(pn.title)
      << "</text>\n";
    s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << R - L << "\" height=\"" << B - T
      << "\" fill=\"none\" stroke=\"#444\"/>\n";
    for (double t : detail::ticks(x0, x1, pn.log_x)) {
      const double xx = L + (t - x0) / (x1 - x0) * (R - L);
      s << "<line x1=\"" << xx << "\" y1=\"" << B << "\" x2=\"" << xx << "\" y2=\"" << B + 4
        << "\" stroke=\"#444\"/><text x=\"" << xx << "\" y=\"" << B + 16
        << "\" text-anchor=\"middle\">" << detail::fmt(pn.log_x ? std::pow(10, t) : t) << "</text>\n";
    }
    for (double t : detail::ticks(y0, y1, pn.log_y)) {
      const double yy = B - (t - y0) / (y1 - y0) * (B - T);
      s << "<line x1=\"" << L - 4 << "\" y1=\"" << yy << "\" x2=\"" << L << "\" y2=\"" << yy
        << "\" stroke=\"#444\"/><text x=\"" << L - 6 << "\" y=\"" << yy + 4
        << "\" text-anchor=\"end\">" << detail::fmt(pn.log_y ? std::pow(10, t) : t) << "</text>\n";
    }
    s << "<text x=\"" << (L + R) / 2 << "\" y=\"" << B + 34 << "\" text-anchor=\"middle\">"
      << detail::esc(pn.xlabel) << "</text>\n";
    s << "<text transform=\"translate(" << ox + 14 << ',' << (T + B) / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << detail::esc(pn.ylabel) << "</text>\n";
    s << "<svg x=\"" << L << "\" y=\"" << T << "\" width=\"" << R - L << "\" height=\"" << B - T
      << "\" viewBox=\"" << L << ' ' << T << ' ' << R - L << ' ' << B - T << "\">\n";
    for (const auto& sr : pn.data) {
      if (sr.line) {
        s << "<polyline fill=\"none\" stroke=\"" << sr.color << "\" stroke-width=\"1.6\" points=\"";
        for (std::size_t i = 0; i < sr.x.size() && i < sr.y.size(); ++i)
          if (std::isfinite(tx(sr.x[i])) && std::isfinite(ty(sr.y[i])))
            s << X(sr.x[i]) << ',' << Y(sr.y[i]) << ' ';
        s << "\"/>\n";
      } else {
        s << "<g fill=\"" << sr.color << "\" fill-opacity=\"" << sr.opacity << "\">";
        for (std::size_t i = 0; i < sr.x.size() && i < sr.y.size(); ++i)
          if (std::isfinite(tx(sr.x[i])) && std::isfinite(ty(sr.y[i])))
            s << "<circle cx=\"" << X(sr.x[i]) << "\" cy=\"" << Y(sr.y[i]) << "\" r=\""
              << sr.radius << "\"/>";
        s << "</g>\n";
      }
    }
    s << "</svg>\n";
    double ly = T + 14;
    for (const auto& sr : pn.data) {
      if (sr.name.empty()) continue;
      s << "<rect x=\"" << R - 130 << "\" y=\"" << ly - 9 << "\" width=\"10\" height=\"10\" fill=\""
        << sr.color << "\"/><text x=\"" << R - 116 << "\" y=\"" << ly << "\">"
        << detail::esc(sr.name) << "</text>\n";
      ly += 14;
    }
  }
  s << "</svg>\n";
  std::ofstream f(path);
  if (!f) throw std::runtime_error("cannot write " + path);
  f << s.str();
  if (!f) throw std::runtime_error("error while writing " + path);
}

}  // namespace examples
