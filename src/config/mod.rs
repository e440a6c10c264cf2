//! The `[*.auth]` settings of `Rocket.toml` (and `ROCKET_AUTH`): read once at start, checked,
//! and turned into each layer's own settings ([`convert`]). Nothing below this module reads the
//! configuration; each layer is handed what it needs.

mod convert;
mod describe;
mod load;
mod settings;
mod validate;

pub use convert::Layers;
pub use load::{check_rocket_settings, with_jwtapp_defaults};
pub use settings::{AuthConfig, ConfigError, LogFormat};
pub use validate::secret_advice;
