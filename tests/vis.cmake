# Tests of tlens_vis: the views' HTML, then each page checked in headless Chromium
# (tests/tools/check_views.js). One line per test.
tlens_test(vis_test tests/unit/vis_test.cpp tlens_vis)
