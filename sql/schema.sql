-- Planwatch warehouse: the contract with analysts (docs/DESIGN.md "Data model").
-- Table and column names here are stable; add columns freely, rename nothing.
-- Dimension and current-state tables are dropped and rebuilt every run (Warehouse.begin), so they
-- need no ALTERs; history tables (observation, assessment, alert, rejected_row, validation_issue)
-- keep every run's rows and gain new columns through ALTER ... ADD COLUMN IF NOT EXISTS.

CREATE TABLE IF NOT EXISTS region (
    region_code  VARCHAR PRIMARY KEY,   -- GB/T 2260
    name_zh      VARCHAR NOT NULL,
    level        VARCHAR,               -- province / prefecture / county
    parent_code  VARCHAR,
    aliases      VARCHAR                -- '|'-separated
);

CREATE TABLE IF NOT EXISTS indicator (
    indicator_key VARCHAR PRIMARY KEY,
    name_zh       VARCHAR NOT NULL,
    aliases       VARCHAR,
    unit          VARCHAR,              -- canonical unit
    direction     VARCHAR,              -- higher_better / lower_better / neutral
    category      VARCHAR,
    value_kind    VARCHAR,
    notes         VARCHAR
);

CREATE TABLE IF NOT EXISTS document (
    doc_id       VARCHAR PRIMARY KEY,   -- sha256 of the file's bytes (first 16 hex)
    file         VARCHAR NOT NULL,
    region_code  VARCHAR,
    region_name  VARCHAR,
    doc_type     VARCHAR,               -- five_year_plan / special_plan / implementation_plan / work_report / bulletin
    period       VARCHAR,               -- 十三五 / 十四五 / 十五五
    period_start INTEGER,
    period_end   INTEGER,
    year         INTEGER,               -- year of publication
    title        VARCHAR,
    encoding     VARCHAR,
    format       VARCHAR,
    n_lines      INTEGER,
    size_bytes   BIGINT,                -- the file's size
    loaded_at    TIMESTAMP
);

CREATE TABLE IF NOT EXISTS extracted_fact (
    doc_id         VARCHAR NOT NULL,
    doc            VARCHAR,             -- file name
    line           INTEGER NOT NULL,    -- 1-based, in the original file
    char_start     INTEGER,
    char_end       INTEGER,
    evidence       VARCHAR,
    region         VARCHAR,             -- as the text names it
    region_code    VARCHAR,
    kind           VARCHAR,             -- target / annual_target / actual / estimate / baseline
    indicator_text VARCHAR,
    indicator_key  VARCHAR,
    value          DOUBLE,
    value_type     VARCHAR,             -- level / cumulative / change_pct / change_pp / ratio / ratio_multiple / structure
    unit           VARCHAR,
    comparator     VARCHAR,             -- >= / <= / = / ~
    year           INTEGER,
    attribute      VARCHAR              -- 约束性 / 预期性 / NULL
);

CREATE TABLE IF NOT EXISTS target (
    target_id      VARCHAR PRIMARY KEY, -- stable hash of doc, line, indicator, year, value, kind, region, value type
    region_code    VARCHAR,
    region_name    VARCHAR,             -- the area as the text names it
    indicator_key  VARCHAR,
    doc_id         VARCHAR,
    line           INTEGER,
    evidence       VARCHAR,
    kind           VARCHAR,             -- target / annual_target
    baseline_year  INTEGER,             -- the plan's base year, also when its value is missing
    baseline_value DOUBLE,              -- canonical unit
    baseline_source VARCHAR,            -- plan / observation / cumulative_start (totals start at 0) / NULL
    target_year    INTEGER,
    target_value   DOUBLE,              -- canonical unit, a level after change targets are resolved (% for rates)
    stated_value   DOUBLE,              -- the number as the plan wrote it
    comparator     VARCHAR,             -- >= / <= / ~ as judged (a bare = takes the indicator's direction)
    stated_comparator VARCHAR,          -- as the plan wrote it
    value_type     VARCHAR,
    measure        VARCHAR,             -- level / cumulative (running total) / rate (average growth) / rate_total
    unit           VARCHAR,             -- canonical unit
    binding        BOOLEAN,             -- 约束性
    attribute      VARCHAR,
    unresolved     VARCHAR              -- why the target cannot be judged (no baseline, value type not assessable, ...)
);

CREATE TABLE IF NOT EXISTS observation (
    region_code   VARCHAR NOT NULL,
    indicator_key VARCHAR NOT NULL,
    year          INTEGER NOT NULL,
    value         DOUBLE NOT NULL,      -- canonical unit
    unit          VARCHAR,
    value_type    VARCHAR,              -- level / change_pct / change_pp / cumulative ...
    source        VARCHAR,              -- title or file the figure came from
    source_kind   VARCHAR,              -- statistics_file / bulletin / plan_retrospective / press_report /
                                        -- work_report_estimate / unofficial_compilation (lib/observations.py)
    source_rank   INTEGER,              -- 1 = most authoritative
    source_file   VARCHAR,
    location      VARCHAR,
    is_chosen     BOOLEAN,
    loaded_at     TIMESTAMP,
    run_id        VARCHAR,
    source_url    VARCHAR,              -- address of the publication, when known
    evidence      VARCHAR               -- the quote or text span the figure was read from
);
ALTER TABLE observation ADD COLUMN IF NOT EXISTS source_url VARCHAR;
ALTER TABLE observation ADD COLUMN IF NOT EXISTS evidence VARCHAR;

CREATE TABLE IF NOT EXISTS assessment (
    run_id          VARCHAR NOT NULL,
    assessed_at     TIMESTAMP,
    target_id       VARCHAR NOT NULL,
    region_code     VARCHAR,
    indicator_key   VARCHAR,
    kind            VARCHAR,            -- target / annual_target
    measure         VARCHAR,            -- level / cumulative / rate / rate_total (see target)
    baseline_year   INTEGER,            -- the target's terms as judged in this run
    baseline_value  DOUBLE,
    target_year     INTEGER,
    target_value    DOUBLE,
    comparator      VARCHAR,
    latest_year     INTEGER,            -- year judged: the target year (or first after) once observed, else the latest
    latest_value    DOUBLE,             -- the measure that year: level / running total / average growth in %
    observations_used INTEGER,          -- yearly observations since the base year behind latest_value
    time_progress   DOUBLE,
    done_progress   DOUBLE,
    expected_value  DOUBLE,
    gap             DOUBLE,
    path_ratio      DOUBLE,
    required_growth DOUBLE,
    actual_growth   DOUBLE,
    growth_ratio    DOUBLE,
    growth_category VARCHAR,
    projected_value DOUBLE,
    projection_points INTEGER,
    will_meet       BOOLEAN,
    status          VARCHAR NOT NULL,   -- achieved / on_track / at_risk / off_track / insufficient_data
    severity        VARCHAR,            -- normal / high / critical
    rule            VARCHAR,            -- the rule that decided the status
    reason          VARCHAR
);
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS kind VARCHAR;
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS measure VARCHAR;
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS baseline_year INTEGER;
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS baseline_value DOUBLE;
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS target_year INTEGER;
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS target_value DOUBLE;
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS comparator VARCHAR;
ALTER TABLE assessment ADD COLUMN IF NOT EXISTS observations_used INTEGER;

-- One row per status change x recipient (lib/alerting.py). alert_id = hash of target, status before
-- and after, recipient and previous_run_id: a re-run finds the row instead of adding one, while a
-- second slip of the same kind after a recovery is a new row.
CREATE TABLE IF NOT EXISTS alert (
    alert_id        VARCHAR NOT NULL,
    run_id          VARCHAR,            -- the run that found the status change
    target_id       VARCHAR,
    recipient       VARCHAR,            -- '' while no route of alert_routing.csv covers the target
    status_before   VARCHAR,            -- status in the previous run that assessed the target (NULL = first seen)
    status_after    VARCHAR,
    alert_type      VARCHAR,            -- slip / recovery
    state           VARCHAR,            -- pending (to send / retry) / sent / failed (refused by the server;
                                        -- retried) / held (validation error or no recipient) / superseded
    attempts        INTEGER,
    last_error      VARCHAR,
    created_at      TIMESTAMP,
    sent_at         TIMESTAMP,
    message_id      VARCHAR,
    recipient_name  VARCHAR,
    previous_run_id VARCHAR,            -- run that supplied status_before ('' = first seen)
    hold_reason     VARCHAR,
    delivered_via   VARCHAR,            -- smtp / outbox
    outbox_file     VARCHAR,
    last_run_id     VARCHAR             -- the last run that planned, sent, held or retired it
);
-- Warehouses built before these columns existed get them on the next run.
ALTER TABLE alert ADD COLUMN IF NOT EXISTS recipient_name VARCHAR;
ALTER TABLE alert ADD COLUMN IF NOT EXISTS previous_run_id VARCHAR;
ALTER TABLE alert ADD COLUMN IF NOT EXISTS hold_reason VARCHAR;
ALTER TABLE alert ADD COLUMN IF NOT EXISTS delivered_via VARCHAR;
ALTER TABLE alert ADD COLUMN IF NOT EXISTS outbox_file VARCHAR;
ALTER TABLE alert ADD COLUMN IF NOT EXISTS last_run_id VARCHAR;

CREATE TABLE IF NOT EXISTS rejected_row (
    run_id      VARCHAR,
    source_file VARCHAR,
    location    VARCHAR,                -- sheet/row/line
    stage       VARCHAR,                -- read / normalize / extract / validate:<check>
    reason      VARCHAR,
    raw         VARCHAR,
    rejected_at TIMESTAMP
);

-- One row per problem a validation check found in this run's tables (issue 5).
-- severity 'error' = the data is broken: alerts for the affected rows are held back;
-- severity 'warning' = implausible but kept: shown, blocks nothing.
CREATE TABLE IF NOT EXISTS validation_issue (
    run_id        VARCHAR,
    table_name    VARCHAR,
    check_name    VARCHAR,
    severity      VARCHAR,              -- error / warning
    region_code   VARCHAR,
    indicator_key VARCHAR,
    year          INTEGER,
    target_id     VARCHAR,
    detail        VARCHAR,
    found_at      TIMESTAMP
);
