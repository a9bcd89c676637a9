"""The benchmark (``make bench``): not collected by pytest (no module is named test_*)."""
