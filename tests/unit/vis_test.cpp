// Tests of tlens/vis: what the HTML holds (escaping, errors), then every view used in headless
// Chromium by tests/tools/check_views.js against the data written here.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_paths.h"
#include "tlens/error.h"
#include "tlens/vis/attention.h"
#include "tlens/vis/line.h"
#include "tlens/vis/tokens.h"

namespace fs = std::filesystem;
using tlens::vis::Html;

namespace {

// Tokens that break naive pages: a closing script tag, quotes, an entity, a comment opener, a
// newline, an emoji, and two bytes that are not UTF-8 (a GPT-2 token can be half a character).
const std::vector<std::string> kTokens = {
    "<|endoftext|>",     "When", " Mary", " said", " \"</script><b>x</b>", " &amp; '", "\n",
    " \xF0\x9F\x99\x82", "<!--"};
const std::string kBrokenUtf8 = "\xF0\x9F";

// A causal pattern, [dest, src]: head h looks mostly `h` tokens back. Rows sum to 1.
std::vector<float> causal_pattern(int64_t n, int64_t h) {
  std::vector<float> pattern(n * n, 0.0f);
  for (int64_t dest = 0; dest < n; ++dest) {
    const int64_t target = std::max<int64_t>(0, dest - h);
    float total = 0.0f;
    for (int64_t src = 0; src <= dest; ++src)
      total += std::exp(-1.5f * std::abs(float(src - target)));
    for (int64_t src = 0; src <= dest; ++src) {
      pattern[dest * n + src] = std::exp(-1.5f * std::abs(float(src - target))) / total;
    }
  }
  return pattern;
}

// The JSON a page carries in <script type="application/json" id="tlens-data">.
nlohmann::json page_data(const Html& page) {
  const std::string open = "<script type=\"application/json\" id=\"tlens-data\">";
  const std::string& html = page.str();
  const size_t begin = html.find(open);
  EXPECT_NE(begin, std::string::npos);
  const size_t end = html.find("</script>", begin);
  return nlohmann::json::parse(html.substr(begin + open.size(), end - begin - open.size()));
}

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// Runs `command` and returns its exit status and everything it printed.
std::pair<int, std::string> run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::array<char, 4096> buffer{};
  while (size_t got = fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), got);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const tlens::Error& e) {
    EXPECT_FALSE(e.hint().empty()) << "an error without a hint: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a tlens::Error";
  return "";
}

}  // namespace

TEST(VisHtml, TokensCannotEscapeTheirScriptElement) {
  std::vector<std::string> tokens = kTokens;
  tokens.push_back(kBrokenUtf8);
  const int64_t n = tokens.size();
  const Html page = tlens::vis::attention_pattern(tokens, causal_pattern(n, 0));
  const std::string& html = page.str();
  // Only our three scripts close: the data, the shared code, the view.
  EXPECT_EQ(count(html, "</script"), 3u);
  EXPECT_EQ(count(html, "<!--"), 0u);
  EXPECT_EQ(count(html, "<b>"), 0u);
  for (unsigned char c : html)
    ASSERT_LT(c, 0x80) << "the page should be ASCII (all text is \\u-escaped JSON)";
  // The data reads back exactly, the broken bytes as U+FFFD.
  const nlohmann::json data = page_data(page);
  std::vector<std::string> expected = kTokens;
  expected.push_back("\xEF\xBF\xBD");
  EXPECT_EQ(data["tokens"].get<std::vector<std::string>>(), expected);
  EXPECT_FLOAT_EQ(data["pattern"][1 * n + 0].get<float>(), causal_pattern(n, 0)[1 * n + 0]);
}

TEST(VisHtml, PagesAreSelfContained) {
  const std::vector<Html> pages = {
      tlens::vis::attention_pattern(kTokens, causal_pattern(kTokens.size(), 0)),
      tlens::vis::attention_heads(kTokens,
                                  std::vector<float>(2 * kTokens.size() * kTokens.size(), 0.1f), 2),
      tlens::vis::line({0.5f, 0.25f}), tlens::vis::colored_tokens({"a", "b"}, {1.0f, -1.0f})};
  for (const Html& page : pages) {
    const std::string& html = page.str();
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(count(html, "https://"), 0u);
    EXPECT_EQ(count(html, " src="), 0u);
    EXPECT_EQ(count(html, " href="), 0u);
    EXPECT_EQ(count(html, "import "), 0u);
  }
}

TEST(VisHtml, SaveWritesThePage) {
  const fs::path dir = fs::path(TLENS_BINARY_DIR) / "vis_artifacts";
  fs::create_directories(dir);
  const Html page = tlens::vis::line({1.0f, 2.0f, 3.0f});
  page.save((dir / "save_test.html").string());
  std::ifstream in(dir / "save_test.html", std::ios::binary);
  std::stringstream read;
  read << in.rdbuf();
  EXPECT_EQ(read.str(), page.str());
  const std::string message =
      error_of([&] { page.save((dir / "no_such_dir" / "x.html").string()); });
  EXPECT_NE(message.find("cannot be written: its folder " + (dir / "no_such_dir").string() + " does not exist"),
            std::string::npos) << message;
}

TEST(VisHtml, HeadNamesDefaultToHeadI) {
  const nlohmann::json data =
      page_data(tlens::vis::attention_heads({"a", "b"}, std::vector<float>(3 * 4, 0.25f), 3));
  EXPECT_EQ(data["head_names"], nlohmann::json({"Head 0", "Head 1", "Head 2"}));
}

TEST(VisHtml, BadInputIsAnErrorWithAHint) {
  const std::vector<std::string> three = {"a", "b", "c"};
  std::string message =
      error_of([&] { tlens::vis::attention_pattern(three, std::vector<float>(8, 0.1f)); });
  EXPECT_NE(message.find("expected [dest, src] = 3*3 = 9 values for 3 tokens, got 8"),
            std::string::npos)
      << message;

  std::vector<float> pattern = causal_pattern(3, 0);
  pattern[2 * 3 + 1] = std::numeric_limits<float>::quiet_NaN();
  message = error_of([&] { tlens::vis::attention_pattern(three, pattern); });
  EXPECT_NE(message.find("dest 2, src 1 is nan"), std::string::npos) << message;

  message = error_of([&] { tlens::vis::attention_pattern({}, {}); });
  EXPECT_NE(message.find("got no tokens"), std::string::npos) << message;

  message =
      error_of([&] { tlens::vis::attention_heads(three, std::vector<float>(2 * 9, 0.1f), 3); });
  EXPECT_NE(message.find("expected [head, dest, src] = 3*3*3 = 27 values"), std::string::npos)
      << message;

  message = error_of(
      [&] { tlens::vis::attention_heads(three, std::vector<float>(2 * 9, 0.1f), 2, {"H0"}); });
  EXPECT_NE(message.find("got 1 head names for 2 heads"), std::string::npos) << message;

  message = error_of([&] { tlens::vis::attention_heads(three, {}, 0); });
  EXPECT_NE(message.find("n_heads must be positive"), std::string::npos) << message;

  tlens::vis::AttentionPatternOptions flat_scale;
  flat_scale.max_value = 0.0f;
  message =
      error_of([&] { tlens::vis::attention_pattern(three, causal_pattern(3, 0), flat_scale); });
  EXPECT_NE(message.find("min_value < 0 < max_value"), std::string::npos) << message;

  message = error_of([&] { tlens::vis::line({}); });
  EXPECT_NE(message.find("no values"), std::string::npos) << message;

  tlens::vis::LineOptions names;
  names.hover_names = {"a"};
  message = error_of([&] { tlens::vis::line({0.1f, 0.2f}, names); });
  EXPECT_NE(message.find("options.hover_names has 1 entries for 2 values"), std::string::npos)
      << message;

  message = error_of([&] { tlens::vis::line({0.1f, std::numeric_limits<float>::infinity()}); });
  EXPECT_NE(message.find("y[1] is inf"), std::string::npos) << message;

  message = error_of([&] { tlens::vis::colored_tokens(three, {1.0f}); });
  EXPECT_NE(message.find("got 1 values for 3 tokens"), std::string::npos) << message;
}

// Writes every view with known data, then has a browser check them against that data.
TEST(VisBrowser, EveryViewWorksInChromium) {
  const char* chromium_env = std::getenv("TLENS_CHROMIUM");
  const std::string chromium = chromium_env ? chromium_env : "/usr/bin/chromium";
  const fs::path playwright =
      fs::path(TLENS_SOURCE_DIR) / "third_party/npm/node_modules/playwright-core";
  if (!fs::exists(chromium)) {
    GTEST_SKIP() << chromium
                 << " not found: install Debian's chromium (scripts/setup.sh does) to run the "
                    "browser checks";
  }
  if (!fs::exists(playwright)) {
    GTEST_SKIP() << playwright
                 << " not found: run scripts/setup.sh (it installs scripts/npm/package.json) "
                 << "to run the browser checks";
  }
  if (run("node --version").first != 0)
    GTEST_SKIP() << "node not found: install nodejs to run the browser checks";

  const fs::path dir = fs::path(TLENS_BINARY_DIR) / "vis_artifacts";
  fs::create_directories(dir);
  nlohmann::json views = nlohmann::json::array();
  const int64_t n = kTokens.size();

  // attention_pattern: the seed's layer 0 head 5 view.
  const std::vector<float> pattern = causal_pattern(n, 1);
  tlens::vis::attention_pattern(kTokens, pattern).save((dir / "attention_pattern.html").string());
  views.push_back({{"name", "attention_pattern"},
                   {"kind", "attention_pattern"},
                   {"file", "attention_pattern.html"},
                   {"tokens", kTokens},
                   {"values", pattern},
                   {"mask", true},
                   {"hover", {{5, 4}, {4, 1}, {8, 7}, {6, 6}, {1, 4}}},
                   // Position 0 can only look at itself: 1.0, pure blue; above the diagonal, grey.
                   {"anchors",
                    {{{"dest", 0}, {"src", 0}, {"rgb", {0, 0, 255}}},
                     {{"dest", 2}, {"src", 7}, {"rgb", {200, 200, 200}}}}}});

  // attention_heads: the seed's layer 5 view, heads named H0..H3.
  const int64_t n_heads = 4;
  std::vector<float> attention;
  for (int64_t h = 0; h < n_heads; ++h) {
    const std::vector<float> head = causal_pattern(n, h);
    attention.insert(attention.end(), head.begin(), head.end());
  }
  const std::vector<std::string> head_names = {"H0", "H1", "H2", "H3"};
  tlens::vis::attention_heads(kTokens, attention, n_heads, head_names)
      .save((dir / "attention_heads.html").string());
  views.push_back({{"name", "attention_heads"},
                   {"kind", "attention_heads"},
                   {"file", "attention_heads.html"},
                   {"tokens", kTokens},
                   {"values", attention},
                   {"mask", true},
                   {"head_names", head_names},
                   {"peek", 2},
                   {"lock", 3},
                   {"other", 1},
                   {"hover", {{7, 4}, {3, 0}, {0, 5}}}});

  // line: the seed's px.line(predictions, hover_name=str_tokens[1:]).
  const std::vector<std::string> str_tokens = {
      "<|endoftext|>", "The", " Eiffel", " Tower", " is", " in", " \"Paris\"", "\n", " 🙂"};
  const std::vector<float> predictions = {0.008f, 0.184f, 0.333f, 0.913f,
                                          0.498f, 0.0f,   0.141f, 0.98f};
  tlens::vis::LineOptions line_options;
  line_options.hover_names = {str_tokens.begin() + 1, str_tokens.end()};
  line_options.y_title = "probability of the next token";
  line_options.x_title = "position";
  line_options.title = "How likely was each actual next token?";
  tlens::vis::line(predictions, line_options).save((dir / "line.html").string());
  views.push_back({{"name", "line"},
                   {"kind", "line"},
                   {"file", "line.html"},
                   {"y", predictions},
                   {"hover_names", line_options.hover_names},
                   {"x_title", line_options.x_title},
                   {"y_title", line_options.y_title},
                   {"hover", {3, 0, 5, 6}}});

  // colored_tokens: signed values; the largest |value| sets the scale.
  const std::vector<std::string> text = {"The", " cat",   "  sat", " on",   "\n",
                                         "the", " <mat>", " &",    " 🙂", "."};
  const std::vector<float> values = {0.0f,  2.0f,  1.0f,   -0.5f, 0.25f,
                                     -2.0f, 0.75f, -1.25f, 1.5f,  0.1f};
  tlens::vis::ColoredTokensOptions token_options;
  token_options.title = "Direct logit attribution (made-up values)";
  tlens::vis::colored_tokens(text, values, token_options)
      .save((dir / "colored_tokens.html").string());
  views.push_back({{"name", "colored_tokens"},
                   {"kind", "colored_tokens"},
                   {"file", "colored_tokens.html"},
                   {"tokens", text},
                   {"values", values},
                   {"hover", {6, 5, 4}},
                   {"anchors",
                    {{{"index", 1}, {"rgb", {0, 0, 255}}},
                     {{"index", 5}, {"rgb", {255, 0, 0}}},
                     {{"index", 0}, {"rgb", {255, 255, 255}}}}}});

  std::ofstream(dir / "manifest.json") << nlohmann::json({{"views", views}}).dump(1);
  const std::string script = (fs::path(TLENS_SOURCE_DIR) / "tests/tools/check_views.js").string();
  const auto [status, output] = run("TLENS_CHROMIUM='" + chromium + "' timeout 120 node '" +
                                    script + "' '" + dir.string() + "'");
  std::cout << output;
  EXPECT_EQ(status, 0) << "check_views.js failed; the pages and screenshots are in " << dir;
  for (const char* view : {"attention_pattern", "attention_heads", "line", "colored_tokens"}) {
    EXPECT_TRUE(fs::exists(dir / (std::string(view) + ".png"))) << "no screenshot of " << view;
  }
}
