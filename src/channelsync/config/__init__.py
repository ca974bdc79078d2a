"""``channelsync.toml``: the store, the worker and every channel account, validated.

The file names accounts and their non-secret settings; secrets never live in it. They
come from environment variables or from a separate secrets file::

    CHANNELSYNC_<ACCOUNT>__<FIELD>     e.g. CHANNELSYNC_SHOPIFY_MAIN__ACCESS_TOKEN

where ``<ACCOUNT>`` is the account name upper-cased with every character that is not a
letter or digit turned into ``_`` (``shopify-main`` -> ``SHOPIFY_MAIN``) and ``<FIELD>``
the secret's name upper-cased. The same double-underscore scheme overrides any setting
of the ``[store]``, ``[worker]``, ``[reports]`` and ``[webhooks]`` tables
(``CHANNELSYNC_STORE__URL``, ``CHANNELSYNC_WORKER__POLL_INTERVAL``): that part is read by
pydantic-settings. The secrets file (``channelsync.secrets.toml`` beside the config, or
``secrets_file = ...``, or ``CHANNELSYNC_SECRETS_FILE``) mirrors the main file's tables
and is refused when other users may read it. An environment variable wins over the file.

Every problem becomes one ``ConfigError`` whose message names the file, the line and the
key (``channelsync.toml:12: accounts.ebay-de.site_id: ...``); ``load_config`` never lets
a pydantic traceback through. Nothing here runs at import time or keeps module state.

The package's parts: ``_settings`` (the settings model), ``_secrets`` (variables and the
secrets file), ``_files`` (finding and reading the files, where each value came from),
``_config`` (``load_config`` and ``Config``) and ``template.toml`` (what ``channelsync init``
writes). The channel kinds come from the adapter plugins (``channelsync.plugins``).
"""

from channelsync.config._config import Config, iter_problems, load_config
from channelsync.config._files import (
    CONFIG_FILE,
    ENV_PREFIX,
    SECRETS_FILE,
    key_lines,
    template,
)
from channelsync.config._secrets import secret_env_name
from channelsync.config._settings import (
    AccountSettings,
    ReportSettings,
    Settings,
    StoreSettings,
    WebhookSettings,
    WorkerSettings,
)

__all__ = [
    "CONFIG_FILE",
    "ENV_PREFIX",
    "SECRETS_FILE",
    "AccountSettings",
    "Config",
    "ReportSettings",
    "Settings",
    "StoreSettings",
    "WebhookSettings",
    "WorkerSettings",
    "iter_problems",
    "key_lines",
    "load_config",
    "secret_env_name",
    "template",
]
