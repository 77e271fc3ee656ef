from config.settings import (
    ConfigError,
    Settings,
    TriggerVocabulary,
    load_settings,
    register_trigger_setting,
    unregister_trigger_settings,
)

__all__ = ["ConfigError", "Settings", "TriggerVocabulary", "load_settings",
           "register_trigger_setting", "unregister_trigger_settings"]
