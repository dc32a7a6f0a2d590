# The shared fixture modules, registered once for the whole suite.
pytest_plugins = ["tests.bigquery_fixtures", "tests.fivetran_fixtures", "tests.flow_fixtures", "tests.browser_fixtures", "tests.temporal_fixtures"]
