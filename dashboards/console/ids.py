"""The console page's component ids, named once: the layout and the callbacks (queue, silences,
drill-down) refer to the same component, and a renamed id is one edit, not a callback that
silently stops firing. The browser tests find the components by these values."""

# The page: refresh tick, language, the selected alert's id.
TICK = "console-tick"
LANG = "console-lang"
LANG_SWITCH = "console-lang-switch"
USER = "console-user"
SELECTED = "console-selected"

# The alert queue, its filters, groups and the selected alert's detail and actions.
FILTER_SOURCE = "console-f-source"
FILTER_SEVERITY = "console-f-severity"
FILTER_UNIT = "console-f-unit"
FILTER_STATE = "console-f-state"
FILTER_GROUP = "console-f-group"
TABLE = "console-table"
COUNT = "console-count"
GROUPS = "console-groups"
DETAIL = "console-detail"
DETAIL_TITLE = "console-detail-title"
DETAIL_STATE = "console-detail-state"
ASSIGNEE = "console-assignee"
COMMENT = "console-comment"
MESSAGE = "console-message"
ACTION_PREFIX = "console-act-"  # + the action: one button each


def action_button(action: str) -> str:
    return ACTION_PREFIX + action


# Silences and maintenance windows.
SILENCES = "console-silences"
SILENCE_SOURCE = "silence-source"
SILENCE_SYSTEM = "silence-system"
SILENCE_UNIT = "silence-unit"
SILENCE_SEVERITY = "silence-severity"
SILENCE_RULE = "silence-rule"
SILENCE_KIND = "silence-kind"
SILENCE_STARTS = "silence-starts"
SILENCE_DURATION = "silence-duration"
SILENCE_COMMENT = "silence-comment"
SILENCE_FROM_ALERT = "silence-from-alert"
SILENCE_CREATE = "silence-create"
SILENCE_EXPIRE = "silence-expire"
SILENCE_MESSAGE = "silence-message"
SILENCE_TABLE = "silence-table"
SILENCE_COUNT = "silence-count"

# The dossier drill-down.
DRILLDOWN = "console-drilldown"
DD_UNIT = "console-dd-unit"
DD_KPI = "console-dd-kpi"
DD_REFRESH = "console-dd-refresh"
DD_COUNT = "console-dd-count"
DD_TABLE = "console-dd-table"
DD_TICK = "console-dd-tick"
DD_VERSION = "console-dd-version"
