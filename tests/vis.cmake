# Tests of tlens_vis: the views' HTML, then each page checked in headless Chromium
# (tests/tools/check_views.js). One line per test.
tlens_test(vis_test tests/unit/vis_test.cpp tlens_vis)
# The views' JavaScript files (src/vis/assets), each parsed by node alone: a syntax error names
# its file and line before any page is built.
find_program(TLENS_NODE node)
if(TLENS_NODE)
  foreach(script common attention_pattern attention_heads line colored_tokens)
    add_test(NAME vis_asset_syntax_${script}
             COMMAND ${TLENS_NODE} --check ${CMAKE_SOURCE_DIR}/src/vis/assets/${script}.js)
  endforeach()
endif()
