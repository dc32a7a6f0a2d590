# The shared fixture modules, registered once for the whole suite.
pytest_plugins = [
    "tests.support.bigquery_fixtures",
    "tests.support.fivetran_fixtures",
    "tests.support.flow_fixtures",
    "tests.support.browser_fixtures",
    "tests.support.temporal_fixtures",
    "tests.support.smtp_fixtures",
]
