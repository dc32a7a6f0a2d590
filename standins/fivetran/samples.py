"""Sample source schemas for every service in services.yaml: what a "source" holds in the emulator.

Tables are written as one line each, `"name: col col:TYPE ..."`:
  * a leading `!` marks a table Fivetran will not let the user exclude (SYSTEM_TABLE),
    a leading `-` one that starts disabled, a leading `x` one deleted at the source (DELETED);
  * the first column is the primary key;
  * a column without `:TYPE` gets its BigQuery type from its name (see `_infer_type`).
Every sample has at least one locked table, so the UI's "cannot be deselected" path is always exercised.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass, replace
from typing import Any

from .responses import ApiError, bad_request
from .services import ServiceInfo

BIGQUERY_TYPES = {"STRING", "INT64", "FLOAT64", "BOOL", "TIMESTAMP", "DATE", "NUMERIC", "JSON"}


@dataclass(frozen=True)
class SampleTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (source column, BigQuery type); the first is the primary key
    enabled: bool = True
    locked: bool = False
    deleted: bool = False
    sync_mode: str | None = None
    rows: int | None = None  # rows at the source; None: row_count() of its names


@dataclass(frozen=True)
class SampleSchema:
    name: str
    tables: tuple[SampleTable, ...]
    enabled: bool = True


# --- Application connectors: one schema named after the connection ------------------------------

APP_TABLES: dict[str, list[str]] = {
    "hubspot": [
        "company: id:INT64 property_name property_domain property_industry property_annualrevenue:NUMERIC"
        " property_numberofemployees:INT64 property_createdate:TIMESTAMP is_deleted:BOOL",
        "contact: id:INT64 property_email property_firstname property_lastname property_lifecyclestage"
        " property_hubspot_owner_id property_createdate:TIMESTAMP is_deleted:BOOL",
        "contact_list: id:INT64 name list_type created_at updated_at deleted_at",
        "deal: deal_id:INT64 property_dealname property_amount:NUMERIC property_dealstage property_pipeline"
        " property_closedate:TIMESTAMP owner_id:INT64 is_deleted:BOOL",
        "!deal_pipeline: pipeline_id label display_order:INT64 active:BOOL",
        "deal_pipeline_stage: stage_id pipeline_id label probability:FLOAT64 display_order:INT64 closed_won:BOOL",
        "engagement: id:INT64 type owner_id:INT64 portal_id:INT64 timestamp:TIMESTAMP created_at active:BOOL",
        "-email_event: id created_at recipient type app_id:INT64 email_campaign_id:INT64 portal_id:INT64",
        "owner: owner_id:INT64 email first_name last_name created_at updated_at is_active:BOOL",
        "ticket: id:INT64 property_subject property_content property_hs_pipeline_stage property_hs_ticket_priority"
        " property_createdate:TIMESTAMP is_deleted:BOOL",
        "xform_submission: form_id conversion_id timestamp:TIMESTAMP page_url",
    ],
    "stripe": [
        "!account: id business_type country default_currency email charges_enabled:BOOL created",
        "balance_transaction: id amount:NUMERIC available_on:TIMESTAMP currency fee:NUMERIC net:NUMERIC status type created",
        "charge: id amount:NUMERIC amount_refunded:NUMERIC currency customer_id description paid:BOOL refunded:BOOL"
        " status failure_code created",
        "customer: id email name description currency delinquent:BOOL balance:NUMERIC created metadata",
        "invoice: id customer_id subscription_id number status amount_due:NUMERIC amount_paid:NUMERIC currency"
        " due_date:DATE period_start:TIMESTAMP period_end:TIMESTAMP created",
        "invoice_line_item: id invoice_id amount:NUMERIC currency description quantity:INT64 price_id period_start:TIMESTAMP",
        "payment_intent: id amount:NUMERIC currency customer_id status payment_method_id created",
        "payout: id amount:NUMERIC arrival_date:TIMESTAMP currency method status type created",
        "price: id product_id unit_amount:NUMERIC currency recurring_interval type active:BOOL created",
        "product: id name description type active:BOOL created updated",
        "refund: id charge_id amount:NUMERIC currency reason status created",
        "subscription: id customer_id status current_period_start:TIMESTAMP current_period_end:TIMESTAMP"
        " cancel_at_period_end:BOOL canceled_at trial_end:TIMESTAMP created",
        "-dispute: id charge_id amount:NUMERIC currency reason status created",
    ],
    "salesforce": [
        "account: id name type industry annual_revenue:NUMERIC number_of_employees:INT64 billing_country owner_id"
        " created_date:TIMESTAMP is_deleted:BOOL",
        "contact: id account_id first_name last_name email title lead_source owner_id created_date:TIMESTAMP is_deleted:BOOL",
        "opportunity: id account_id name stage_name amount:NUMERIC probability:FLOAT64 close_date:DATE is_won:BOOL"
        " is_closed:BOOL owner_id created_date:TIMESTAMP",
        "lead: id first_name last_name company email status lead_source is_converted:BOOL converted_date:DATE"
        " created_date:TIMESTAMP",
        "!user: id username email name profile_id is_active:BOOL created_date:TIMESTAMP",
        "campaign: id name type status start_date:DATE end_date:DATE budgeted_cost:NUMERIC actual_cost:NUMERIC",
        "task: id who_id what_id subject status priority activity_date:DATE owner_id created_date:TIMESTAMP",
        "event: id who_id what_id subject start_date_time:TIMESTAMP end_date_time:TIMESTAMP owner_id",
        "opportunity_line_item: id opportunity_id product_2_id quantity:INT64 unit_price:NUMERIC total_price:NUMERIC",
        "-opportunity_history: id opportunity_id stage_name amount:NUMERIC close_date:DATE created_date:TIMESTAMP",
        "-case: id account_id contact_id subject status priority origin created_date:TIMESTAMP closed_date:TIMESTAMP",
    ],
    "shopify": [
        "order: id name email customer_id financial_status fulfillment_status total_price:NUMERIC subtotal_price:NUMERIC"
        " total_tax:NUMERIC currency created_at processed_at cancelled_at",
        "order_line: id order_id product_id variant_id title quantity:INT64 price:NUMERIC sku",
        "product: id title vendor product_type handle status created_at updated_at published_at",
        "product_variant: id product_id title sku price:NUMERIC inventory_quantity:INT64 weight:FLOAT64",
        "customer: id email first_name last_name orders_count:INT64 total_spent:NUMERIC state verified_email:BOOL created_at",
        "!shop: id name domain currency country_code plan_name created_at",
        "transaction: id order_id kind gateway status amount:NUMERIC currency created_at",
        "refund: id order_id note restock:BOOL created_at processed_at",
        "fulfillment: id order_id status tracking_company tracking_number created_at",
        "-abandoned_checkout: id email customer_id total_price:NUMERIC currency created_at completed_at",
        "inventory_level: inventory_item_id location_id available:INT64 updated_at",
        "-discount_code: id price_rule_id code usage_count:INT64 created_at",
    ],
    "zendesk": [
        "ticket: id subject description status priority type requester_id assignee_id organization_id group_id"
        " via_channel created_at updated_at due_at",
        "ticket_comment: id ticket_id user_id body public:BOOL created",
        "user: id name email role organization_id time_zone active:BOOL created_at",
        "organization: id name details group_id created_at",
        "!group: id name is_public:BOOL created_at updated_at",
        "satisfaction_rating: id ticket_id assignee_id score comment created_at",
        "ticket_field_history: ticket_id field_name updated:TIMESTAMP value user_id",
        "ticket_tag: ticket_id tag",
        "-sla_policy: id title description created_at",
        "brand: id name subdomain active:BOOL",
    ],
    "jira": [
        "issue: id key project summary description status issue_type priority assignee reporter created updated"
        " resolved:TIMESTAMP story_points:FLOAT64",
        "project: id key name project_type_key lead_id",
        "!user: id name email time_zone is_active:BOOL",
        "comment: id issue_id author_id body created updated",
        "sprint: id board_id name state start_date:TIMESTAMP end_date:TIMESTAMP complete_date:TIMESTAMP",
        "issue_field_history: issue_id field_id time:TIMESTAMP value",
        "worklog: id issue_id author_id time_spent_seconds:INT64 started:TIMESTAMP created",
        "status: id name status_category_id description",
        "-version: id project_id name released:BOOL release_date:DATE",
        "component: id project_id name description",
    ],
    "github": [
        "repository: id name full_name owner_id private:BOOL default_branch language stargazers_count:INT64 created_at",
        "issue: id repository_id number:INT64 title body state user_id locked:BOOL pull_request:BOOL created_at closed_at",
        "pull_request: id issue_id head_sha base_ref merged:BOOL merged_at merge_commit_sha draft:BOOL",
        "commit: sha repository_id author_name author_email author_date:TIMESTAMP message",
        "!user: id login name company type site_admin:BOOL",
        "issue_comment: id issue_id user_id body created_at updated_at",
        "pull_request_review: id pull_request_id user_id state body submitted_at",
        "label: id repository_id name color description",
        "-team: id name slug privacy description",
        "-release: id repository_id tag_name name draft:BOOL prerelease:BOOL published_at",
    ],
    "google_ads": [
        "!account_history: id descriptive_name currency_code time_zone auto_tagging_enabled:BOOL updated_at",
        "campaign_history: id account_id name status advertising_channel_type serving_status start_date:DATE"
        " end_date:DATE updated_at",
        "ad_group_history: id campaign_id name status type cpc_bid_micros:INT64 updated_at",
        "ad_history: id ad_group_id type final_urls status updated_at",
        "keyword_stats: customer_id date:DATE ad_group_id criterion_id impressions:INT64 clicks:INT64"
        " cost_micros:INT64 conversions:FLOAT64",
        "campaign_stats: customer_id date:DATE campaign_id impressions:INT64 clicks:INT64 cost_micros:INT64"
        " conversions:FLOAT64 conversions_value:NUMERIC",
        "ad_stats: customer_id date:DATE ad_group_id ad_id impressions:INT64 clicks:INT64 cost_micros:INT64",
        "-search_term_stats: customer_id date:DATE search_term ad_group_id impressions:INT64 clicks:INT64",
        "ad_group_criterion_history: id ad_group_id type status keyword_text keyword_match_type updated_at",
    ],
    "facebook_ads": [
        "!account_history: id name account_status currency timezone_name business_country_code created_time:TIMESTAMP",
        "campaign_history: id account_id name status objective daily_budget:NUMERIC lifetime_budget:NUMERIC"
        " start_time:TIMESTAMP stop_time:TIMESTAMP updated_time:TIMESTAMP",
        "ad_set_history: id campaign_id account_id name status daily_budget:NUMERIC optimization_goal"
        " billing_event updated_time:TIMESTAMP",
        "ad_history: id ad_set_id campaign_id name status creative_id updated_time:TIMESTAMP",
        "creative_history: id account_id name title body call_to_action_type page_link",
        "basic_ad: ad_id date:DATE account_id impressions:INT64 inline_link_clicks:INT64 spend:NUMERIC reach:INT64"
        " frequency:FLOAT64",
        "-basic_ad_actions: ad_id date:DATE action_type value:FLOAT64",
        "-demographics_age: account_id date:DATE age impressions:INT64 spend:NUMERIC",
    ],
    "google_analytics_4": [
        "!property: id display_name time_zone currency_code create_time:TIMESTAMP",
        "traffic_acquisition_session_source_medium_report: property date:DATE session_source session_medium"
        " sessions:INT64 engaged_sessions:INT64 total_users:INT64 conversions:FLOAT64",
        "pages_path_report: property date:DATE page_path screen_page_views:INT64 total_users:INT64"
        " user_engagement_duration:FLOAT64",
        "events_report: property date:DATE event_name event_count:INT64 total_users:INT64",
        "demographic_country_report: property date:DATE country new_users:INT64 total_users:INT64 sessions:INT64",
        "conversions_report: property date:DATE event_name conversions:FLOAT64 total_revenue:NUMERIC",
        "-tech_device_category_report: property date:DATE device_category sessions:INT64 total_users:INT64",
        "-landing_page_report: property date:DATE landing_page sessions:INT64 bounce_rate:FLOAT64",
    ],
    "intercom": [
        "conversation_history: id created_at updated_at state open:BOOL read:BOOL priority assignee_id"
        " source_type source_subject",
        "conversation_part_history: id conversation_id part_type body author_id author_type created_at",
        "contact_history: id role email name phone location_country signed_up_at last_seen_at updated_at",
        "company_history: id company_id name plan monthly_spend:NUMERIC user_count:INT64 created_at",
        "!admin: id name email job_title away_mode_enabled:BOOL",
        "team: id name",
        "tag: id name",
        "-conversation_tag_history: conversation_id tag_id updated_at",
        "-contact_company_history: contact_id company_id updated_at",
    ],
    "mailchimp": [
        "!list: id name date_created:TIMESTAMP member_count:INT64 unsubscribe_count:INT64 campaign_defaults_from_email",
        "member: id list_id email_address status member_rating:INT64 timestamp_signup:TIMESTAMP last_changed:TIMESTAMP",
        "campaign: id list_id type status subject_line title send_time:TIMESTAMP emails_sent:INT64 create_time:TIMESTAMP",
        "campaign_recipient: campaign_id member_id list_id email_address combination_id",
        "activity: campaign_id member_id action timestamp:TIMESTAMP url ip",
        "automation: id title status create_time:TIMESTAMP start_time:TIMESTAMP emails_sent:INT64",
        "-unsubscribe: campaign_id member_id list_id reason timestamp:TIMESTAMP",
        "segment: id list_id name type member_count:INT64 created_at updated_at",
    ],
    "klaviyo": [
        "person: id email first_name last_name phone_number city country created updated",
        "event: id person_id metric_id type timestamp:TIMESTAMP property_value:NUMERIC uuid",
        "!metric: id name integration_id created updated",
        "campaign: id name status subject from_email send_time:TIMESTAMP created updated",
        "flow: id name status trigger_type created updated",
        "list: id name created updated",
        "-segment: id name created updated",
    ],
    "pipedrive": [
        "deal: id title value:NUMERIC currency status stage_id pipeline_id person_id org_id user_id add_time:TIMESTAMP"
        " close_time:TIMESTAMP won_time:TIMESTAMP",
        "person: id name email phone org_id owner_id add_time:TIMESTAMP active_flag:BOOL",
        "organization: id name address owner_id people_count:INT64 add_time:TIMESTAMP",
        "activity: id type subject deal_id person_id user_id done:BOOL due_date:DATE add_time:TIMESTAMP",
        "!pipeline: id name order_nr:INT64 active:BOOL add_time:TIMESTAMP",
        "stage: id pipeline_id name order_nr:INT64 deal_probability:INT64",
        "users: id name email active_flag:BOOL created:TIMESTAMP",
        "-note: id deal_id person_id content add_time:TIMESTAMP",
    ],
    "quickbooks": [
        "!account: id name account_type account_sub_type classification current_balance:NUMERIC active:BOOL created_at",
        "customer: id display_name company_name email balance:NUMERIC active:BOOL created_at",
        "invoice: id customer_id doc_number transaction_date:DATE due_date:DATE total_amount:NUMERIC balance:NUMERIC"
        " currency_id created_at",
        "invoice_line: invoice_id index:INT64 amount:NUMERIC description item_id quantity:FLOAT64",
        "payment: id customer_id transaction_date:DATE total_amount:NUMERIC unapplied_amount:NUMERIC created_at",
        "bill: id vendor_id transaction_date:DATE due_date:DATE total_amount:NUMERIC balance:NUMERIC created_at",
        "vendor: id display_name company_name balance:NUMERIC active:BOOL created_at",
        "journal_entry: id transaction_date:DATE doc_number adjustment:BOOL created_at",
        "-estimate: id customer_id transaction_date:DATE total_amount:NUMERIC status created_at",
    ],
    "xero": [
        "!organisation: organisation_id name base_currency country_code financial_year_end_month:INT64",
        "account: account_id code name type status class tax_type",
        "contact: contact_id name email_address is_customer:BOOL is_supplier:BOOL contact_status updated_date_utc:TIMESTAMP",
        "invoice: invoice_id contact_id invoice_number type status date:DATE due_date:DATE total:NUMERIC"
        " amount_due:NUMERIC currency_code updated_date_utc:TIMESTAMP",
        "invoice_line_item: line_item_id invoice_id description quantity:FLOAT64 unit_amount:NUMERIC line_amount:NUMERIC",
        "payment: payment_id invoice_id account_id date:DATE amount:NUMERIC status",
        "journal: journal_id journal_date:DATE journal_number:INT64 created_date_utc:TIMESTAMP",
        "-bank_transaction: bank_transaction_id contact_id type status date:DATE total:NUMERIC",
    ],
    "greenhouse": [
        "candidate: id first_name last_name company title is_private:BOOL created_at updated_at",
        "application: id candidate_id job_id status source_id applied_at rejected_at current_stage_id",
        "job: id name status requisition_id confidential:BOOL created_at opened_at closed_at",
        "!department: id name parent_id",
        "interview: id application_id interview_id start:TIMESTAMP end:TIMESTAMP status",
        "scorecard: id application_id interviewer_id overall_recommendation submitted_at",
        "-offer: id application_id status version:INT64 created_at sent_at",
    ],
    "amplitude": [
        "event: id event_type user_id device_id session_id:INT64 event_time:TIMESTAMP country platform event_properties:JSON",
        "!event_type: id name totals:INT64",
        "user: id amplitude_id:INT64 user_id last_seen:TIMESTAMP country platform",
        "session: session_id:INT64 user_id started_at ended_at event_count:INT64",
        "-cohort: id name size:INT64 last_computed:TIMESTAMP",
    ],
    "segment": [
        "tracks: id anonymous_id user_id event event_text context_page_url received_at sent_at timestamp:TIMESTAMP",
        "identifies: id anonymous_id user_id email name received_at timestamp:TIMESTAMP",
        "pages: id anonymous_id user_id path referrer title url received_at timestamp:TIMESTAMP",
        "!users: id email name received_at",
        "-screens: id anonymous_id user_id name received_at",
        "-groups: id anonymous_id user_id group_id received_at",
    ],
    "fivetran_log": [
        "!log: id time_stamp:TIMESTAMP connection_id event message_event message_data sync_id",
        "connection: connection_id connection_name connector_type destination_id paused:BOOL signed_up:TIMESTAMP",
        "incremental_mar: destination_id connection_name schema_name table_name measured_date:DATE free_type"
        " incremental_rows:INT64",
        "destination: id account_id name region created_at",
        "account: id name country created_at status",
        "user: id email given_name family_name created_at",
        "-audit_trail: id timestamp:TIMESTAMP event user_id resource_type resource_id",
    ],
}

# Services whose tables support history/soft-delete modes get a `sync_mode` on each table.
APP_SYNC_MODES = {"salesforce": "SOFT_DELETE", "fivetran_log": "SOFT_DELETE"}

CATEGORY_TABLES: dict[str, list[str]] = {
    "Marketing": [
        "!account: id name currency time_zone status created_at",
        "campaign: id account_id name status objective budget:NUMERIC start_date:DATE end_date:DATE created_at",
        "ad_group: id campaign_id name status bid_amount:NUMERIC created_at",
        "ad: id ad_group_id name status creative_id created_at",
        "campaign_report: campaign_id date:DATE impressions:INT64 clicks:INT64 spend:NUMERIC conversions:FLOAT64",
        "ad_report: ad_id date:DATE impressions:INT64 clicks:INT64 spend:NUMERIC ctr:FLOAT64",
        "-audience: id name size:INT64 created_at",
    ],
    "Sales": [
        "account: id name industry owner_id annual_revenue:NUMERIC created_at",
        "contact: id account_id first_name last_name email phone owner_id created_at",
        "deal: id account_id name stage amount:NUMERIC currency close_date:DATE is_won:BOOL owner_id created_at",
        "activity: id deal_id contact_id type subject completed:BOOL due_date:DATE created_at",
        "!user: id name email role is_active:BOOL created_at",
        "pipeline_stage: id name display_order:INT64 probability:FLOAT64",
        "-note: id deal_id author_id body created_at",
    ],
    "Finance": [
        "!account: id name type currency balance:NUMERIC is_active:BOOL",
        "customer: id name email currency balance:NUMERIC created_at",
        "invoice: id customer_id number status total_amount:NUMERIC amount_due:NUMERIC currency issue_date:DATE"
        " due_date:DATE created_at",
        "invoice_line: id invoice_id description quantity:FLOAT64 unit_price:NUMERIC amount:NUMERIC",
        "payment: id invoice_id amount:NUMERIC currency method status paid_at",
        "subscription: id customer_id plan_id status start_date:DATE end_date:DATE mrr:NUMERIC",
        "journal_entry: id entry_date:DATE memo total_debit:NUMERIC total_credit:NUMERIC created_at",
        "-credit_note: id customer_id total_amount:NUMERIC currency created_at",
    ],
    "Support": [
        "ticket: id subject status priority channel requester_id assignee_id created_at updated_at solved_at",
        "ticket_message: id ticket_id author_id body is_public:BOOL created_at",
        "customer: id name email company created_at",
        "!agent: id name email role is_active:BOOL",
        "team: id name created_at",
        "satisfaction_rating: id ticket_id score comment created_at",
        "-tag: id name",
    ],
    "Engineering": [
        "project: id key name description created_at",
        "issue: id project_id title status priority assignee_id reporter_id created_at resolved_at",
        "comment: id issue_id author_id body created_at",
        "!user: id name email is_active:BOOL",
        "event: id project_id type title level count:INT64 first_seen:TIMESTAMP last_seen:TIMESTAMP",
        "-release: id project_id version released_at",
    ],
    "Productivity": [
        "project: id name owner_id archived:BOOL created_at",
        "task: id project_id name assignee_id completed:BOOL due_on:DATE created_at completed_at",
        "!user: id name email created_at",
        "form: id title created_at updated_at",
        "response: id form_id submitted_at score:FLOAT64 answers:JSON",
        "-tag: id name",
    ],
    "HumanResources": [
        "employee: id first_name last_name email department_id job_title hire_date:DATE termination_date:DATE"
        " employment_status",
        "!department: id name parent_id",
        "job: id title department_id status opened_at closed_at",
        "candidate: id first_name last_name email source created_at",
        "application: id candidate_id job_id stage status applied_at",
        "time_off_request: id employee_id type start_date:DATE end_date:DATE status",
        "-compensation: id employee_id amount:NUMERIC currency effective_date:DATE",
    ],
    "Events": [
        "event: id user_id anonymous_id name timestamp:TIMESTAMP properties:JSON",
        "!event_definition: id name description",
        "user: id email first_seen:TIMESTAMP last_seen:TIMESTAMP country",
        "session: id user_id started_at ended_at event_count:INT64",
        "page_view: id user_id session_id url referrer timestamp:TIMESTAMP",
        "-identify: id user_id traits:JSON timestamp:TIMESTAMP",
    ],
    "Log": [
        "!log: id time_stamp:TIMESTAMP event message",
        "audit: id timestamp:TIMESTAMP actor action resource",
    ],
}

# --- Database connectors: several source schemas, names as the source spells them ----------------

_SHOP_SCHEMA = [
    "customers: id:INT64 email first_name last_name country created_at updated_at",
    "orders: id:INT64 customer_id:INT64 status total_amount:NUMERIC currency placed_at shipped_at",
    "order_items: id:INT64 order_id:INT64 product_id:INT64 quantity:INT64 unit_price:NUMERIC",
    "products: id:INT64 sku name category price:NUMERIC is_active:BOOL created_at",
    "!schema_migrations: version applied_at",
    "-audit_log: id:INT64 actor action table_name changed_at payload:JSON",
]
_SALES_OPS_SCHEMA = [
    "Quota: id:INT64 rep_id:INT64 period_start:DATE amount:NUMERIC",
    "Territory: id:INT64 name region manager_id:INT64",
    "rep_assignment: id:INT64 rep_id:INT64 territory_id:INT64 assigned_at",
]
_INVENTORY_SCHEMA = [
    "warehouses: id:INT64 name city country",
    "stock_levels: product_id:INT64 warehouse_id:INT64 on_hand:INT64 reserved:INT64 updated_at",
    "-stock_movements: id:INT64 product_id:INT64 warehouse_id:INT64 delta:INT64 reason moved_at",
]

# (source schema, enabled by default, tables); the history-mode table shows a second sync_mode.
DATABASE_SCHEMAS: dict[str, list[tuple[str, bool, list[str]]]] = {
    "postgres": [("public", True, _SHOP_SCHEMA), ("Sales Ops", False, _SALES_OPS_SCHEMA), ("inventory", True, _INVENTORY_SCHEMA)],
    "mysql": [("shop", True, _SHOP_SCHEMA), ("Sales Ops", False, _SALES_OPS_SCHEMA), ("inventory", True, _INVENTORY_SCHEMA)],
    "sql_server": [("dbo", True, _SHOP_SCHEMA), ("Sales Ops", False, _SALES_OPS_SCHEMA), ("inventory", True, _INVENTORY_SCHEMA)],
    "oracle": [("APP", True, _SHOP_SCHEMA), ("SALES_OPS", False, _SALES_OPS_SCHEMA), ("INVENTORY", True, _INVENTORY_SCHEMA)],
    "snowflake_db": [("PUBLIC", True, _SHOP_SCHEMA), ("Sales Ops", False, _SALES_OPS_SCHEMA)],
    "mongo": [
        (
            "app",
            True,
            [
                "users: _id email name roles:JSON created_at",
                "sessions: _id user_id started_at expires_at",
                "events: _id user_id type payload:JSON occurred_at",
                "!system_profile: _id op ns millis:INT64 ts:TIMESTAMP",
                "-change_log: _id collection operation document:JSON logged_at",
            ],
        ),
        ("Sales Ops", False, _SALES_OPS_SCHEMA),
    ],
}
HISTORY_MODE_TABLES = {"orders", "Quota"}
DEFAULT_DATABASE = "postgres"

# --- Single-table connectors: one schema, one table named by the connection's config ------------

SINGLE_TABLE_COLUMNS: dict[str, str] = {
    "google_sheets": "_row:INT64 date:DATE region product units:INT64 revenue:NUMERIC",
    "webhooks": "id event data:JSON received_at",
    "files": "_file _line:INT64 _modified:TIMESTAMP id name amount:NUMERIC recorded_at",
}

_NUMERIC_WORDS = ("amount", "price", "total", "cost", "spend", "revenue", "balance", "budget", "mrr")
_INT_WORDS = ("count", "quantity", "impressions", "clicks", "views", "sessions", "users", "size")


def _infer_type(column: str) -> str:
    if column.endswith("_at") or column in {"created", "updated", "timestamp", "time", "date_created"}:
        return "TIMESTAMP"
    if column == "date" or column.endswith("_date") or column.endswith("_on"):
        return "DATE"
    if column.startswith(("is_", "has_")) or column in {"active", "deleted", "paid", "private"}:
        return "BOOL"
    if any(word in column for word in _NUMERIC_WORDS):
        return "NUMERIC"
    if any(column.endswith(word) for word in _INT_WORDS):
        return "INT64"
    if column in {"metadata", "properties", "payload", "traits"}:
        return "JSON"
    return "STRING"


def _table(spec: str, *, sync_mode: str | None = None, name: str | None = None) -> SampleTable:
    head, _, rest = spec.partition(":")
    flags, table_name = re.match(r"([!\-x]?)(.+)", head.strip()).groups()
    columns = []
    for word in rest.split():
        column, _, declared = word.partition(":")
        column_type = declared or _infer_type(column)
        assert column_type in BIGQUERY_TYPES, f"{table_name}.{column}: {column_type}"
        columns.append((column, column_type))
    return SampleTable(
        name=name or table_name,
        columns=tuple(columns),
        enabled=flags not in {"-", "x"},
        locked=flags == "!",
        deleted=flags == "x",
        sync_mode=sync_mode,
    )


def sample_source(service: ServiceInfo, config: dict[str, Any]) -> tuple[SampleSchema, ...]:
    """The source schemas a new connection of `service` (created with `config`) exposes."""
    if service.single_table:
        columns_spec = SINGLE_TABLE_COLUMNS.get(service.id) or SINGLE_TABLE_COLUMNS["files"]
        table_name = str(config.get("table") or service.static_config["table"])
        # The only table of a single-table connection cannot be excluded.
        table = _table(f"!{table_name}: {columns_spec}")
        return (SampleSchema(name=str(config.get("schema")), tables=(table,)),)
    if service.is_database:
        layout = DATABASE_SCHEMAS.get(service.id) or DATABASE_SCHEMAS[DEFAULT_DATABASE]
        return tuple(
            SampleSchema(
                name=schema_name,
                enabled=enabled,
                tables=tuple(
                    _table(spec, sync_mode="HISTORY" if spec.split(":")[0].lstrip("!-x") in HISTORY_MODE_TABLES else "SOFT_DELETE")
                    for spec in specs
                ),
            )
            for schema_name, enabled, specs in layout
        )
    specs = APP_TABLES.get(service.id) or CATEGORY_TABLES.get(service.category) or CATEGORY_TABLES["Sales"]
    sync_mode = APP_SYNC_MODES.get(service.id)
    return (SampleSchema(name=str(config.get("schema")), tables=tuple(_table(spec, sync_mode=sync_mode) for spec in specs)),)


def connection_source(service: ServiceInfo, connection: dict[str, Any]) -> tuple[SampleSchema, ...]:
    """What the connection's source holds now: its sample, plus the tables it gained since
    (POST /_control/connections/{id}/add-table), in the order they came."""
    schemas = list(sample_source(service, connection["config"]))
    sync_mode = "SOFT_DELETE" if service.is_database else APP_SYNC_MODES.get(service.id)
    for added in connection.get("source_added", ()):
        table = SampleTable(name=added["table"], columns=tuple((name, type_) for name, type_ in added["columns"]),
                            sync_mode=sync_mode, rows=added["rows"])
        index = next((i for i, schema in enumerate(schemas) if schema.name == added["schema"]), None)
        if index is None:
            schemas.append(SampleSchema(name=added["schema"], tables=(table,)))
        else:
            schemas[index] = replace(schemas[index], tables=schemas[index].tables + (table,))
    return tuple(schemas)


NEW_TABLE_COLUMNS = ("id:INT64", "name", "updated_at")
NEW_TABLE_ROWS = 20  # fixed rather than row_count()'s hash, so a new table always lands with rows
MAX_NEW_TABLE_ROWS = 100_000
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def new_source_table(service: ServiceInfo, connection: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A table for the connection's source, from the add-table body
    {"table", "schema"?, "columns"?: ["name" or "name:TYPE", …], "rows"?}; the first column is the key."""
    if service.single_table:
        raise bad_request(f"A '{service.id}' connection's source holds its one table only")
    schemas = connection_source(service, connection)
    table, schema = body.get("table"), body.get("schema", schemas[0].name)
    for key, value in (("table", table), ("schema", schema)):
        if not isinstance(value, str) or not value.strip():
            raise bad_request(f"'{key}' must be a non-empty string")
    if any(s.name == schema and any(t.name == table for t in s.tables) for s in schemas):
        raise ApiError(409, "Conflict", f"The source already has table '{schema}.{table}'")
    specs = body.get("columns", list(NEW_TABLE_COLUMNS))
    if not isinstance(specs, list) or not specs or not all(isinstance(spec, str) for spec in specs):
        raise bad_request("'columns' must be a non-empty list of \"name\" or \"name:TYPE\" strings")
    columns = []
    for spec in specs:
        name, _, declared = spec.partition(":")
        column_type = declared or _infer_type(name)
        if not COLUMN_NAME.match(name) or column_type not in BIGQUERY_TYPES:
            raise bad_request(f"Invalid column '{spec}': a name of letters, digits and underscores, and one of {', '.join(sorted(BIGQUERY_TYPES))}")
        columns.append([name, column_type])
    if len({name for name, _type in columns}) != len(columns):
        raise bad_request("Column names must be unique")
    rows = body.get("rows", NEW_TABLE_ROWS)
    if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= MAX_NEW_TABLE_ROWS:
        raise bad_request(f"'rows' must be a whole number from 0 to {MAX_NEW_TABLE_ROWS}")
    return {"schema": schema, "table": table, "columns": columns, "rows": rows}


def destination_name(source_name: str) -> str:
    """Fivetran's default naming: lowercase snake_case."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", source_name).strip("_")
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower() if not source_name.isupper() else name.lower()
    return name or "_"


def new_rows(table_key: str, rows_so_far: int) -> int:
    """How many rows an incremental sync finds in a table that holds `rows_so_far`: 1 to 5, the same
    for the same table and size; a table empty at the source stays empty."""
    if rows_so_far <= 0:
        return 0
    return zlib.crc32(f"{table_key}/{rows_so_far}".encode()) % 5 + 1


def row_count(service_id: str, schema: str, table: str) -> int:
    """Deterministic, varied, sometimes zero: a hash of the names, not of the connection."""
    digest = int(hashlib.sha256(f"{service_id}/{schema}/{table}".encode()).hexdigest()[:12], 16)
    if digest % 6 == 0:
        return 0
    return [digest % 50 + 1, digest % 2_000 + 50, digest % 40_000 + 1_000][digest % 3]
