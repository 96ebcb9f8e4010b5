// The dashboard's files (GET / of `conveyor work`), compiled into the binary: the page, its script
// and style, and the vendored uPlot. cmake/embed_assets.cmake generates the table from
// src/admin/assets/ and third_party/uplot/ at build time, so the page needs nothing from outside.
// Everything is immutable static data: any thread may call find_asset; the views live forever.
#pragma once

#include <string_view>

namespace conveyor::admin {

struct Asset {
  std::string_view path;          // the URL path it is served at: "/", "/dashboard.js", "/vendor/..."
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
  std::string_view body;          // the file's bytes
};

// The asset served at `path` (exact match, no query string), or nullptr when there is none.
const Asset* find_asset(std::string_view path);

}  // namespace conveyor::admin
