// The dashboard's files as compiled into the binary (cmake/embed_assets.cmake): every file the
// page loads is there, byte for byte, with the content type a browser needs to use it.
#include "admin/assets.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace conveyor::admin {
namespace {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(CONVEYOR_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Expected {
  const char* path;
  const char* content_type;
  const char* source;
};

constexpr Expected kExpected[] = {
    {"/", "text/html; charset=utf-8", "src/admin/assets/index.html"},
    {"/dashboard.js", "text/javascript; charset=utf-8", "src/admin/assets/dashboard.js"},
    {"/dashboard.css", "text/css; charset=utf-8", "src/admin/assets/dashboard.css"},
    {"/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8", "third_party/uplot/uPlot.iife.min.js"},
    {"/vendor/uPlot.min.css", "text/css; charset=utf-8", "third_party/uplot/uPlot.min.css"},
    {"/vendor/uPlot.LICENSE.txt", "text/plain; charset=utf-8", "third_party/uplot/LICENSE"},
};

TEST(Assets, EveryFileIsEmbeddedWithItsContentTypeAndExactBytes) {
  for (const auto& expected : kExpected) {
    SCOPED_TRACE(expected.path);
    const Asset* asset = find_asset(expected.path);
    ASSERT_NE(asset, nullptr);
    EXPECT_EQ(asset->path, expected.path);
    EXPECT_EQ(asset->content_type, expected.content_type);
    EXPECT_FALSE(asset->body.empty());
    EXPECT_EQ(asset->body, read_source(expected.source));
  }
}

TEST(Assets, TheIndexLoadsEveryOtherAssetByARelativePath) {
  const Asset* index = find_asset("/");
  ASSERT_NE(index, nullptr);
  for (const auto& expected : kExpected) {
    const std::string_view path = expected.path;
    if (path == "/") {
      continue;
    }
    // Relative ("dashboard.js", not "/dashboard.js"), so the page works behind a proxy's path prefix.
    const std::string reference = "\"" + std::string(path.substr(1)) + "\"";
    EXPECT_NE(index->body.find(reference), std::string_view::npos) << "index.html does not load " << reference;
  }
}

TEST(Assets, UnknownPathsAndNearMissesAreNotFound) {
  EXPECT_EQ(find_asset(""), nullptr);
  EXPECT_EQ(find_asset("/index"), nullptr);
  EXPECT_EQ(find_asset("/dashboard.js?v=1"), nullptr);
  EXPECT_EQ(find_asset("dashboard.js"), nullptr);
  EXPECT_EQ(find_asset("/vendor/"), nullptr);
  EXPECT_EQ(find_asset("/../CMakeLists.txt"), nullptr);
}

TEST(Assets, TheVendoredUplotIsThePinnedVersion) {
  const Asset* uplot = find_asset("/vendor/uPlot.iife.min.js");
  ASSERT_NE(uplot, nullptr);
  EXPECT_TRUE(uplot->body.starts_with("/*! https://github.com/leeoniya/uPlot (v1.6.32) */"))
      << uplot->body.substr(0, 80);
}

}  // namespace
}  // namespace conveyor::admin
