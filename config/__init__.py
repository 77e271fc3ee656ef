from config.settings import (
    SECRET_FIELDS,
    ConfigError,
    Settings,
    TriggerVocabulary,
    load_settings,
    register_trigger_setting,
    unregister_trigger_settings,
)

__all__ = ["SECRET_FIELDS", "ConfigError", "Settings", "TriggerVocabulary", "load_settings",
           "register_trigger_setting", "unregister_trigger_settings"]
