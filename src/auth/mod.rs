//! Authentication, with no web framework in it: tokens and keys, passwords, login and its
//! throttling, refresh and rotation, sessions, and the accounts service. The web layer hands
//! this layer strings (tokens, credentials) and gets typed answers back.
//!
//! Time comes from a [`Clock`] the application owns, so tests can move it.

mod accounts;
mod authenticate;
mod clock;
mod device;
mod error;
mod events;
mod fresh;
mod housekeeping;
mod keys;
mod login;
mod passwords;
mod principal;
mod recovery;
mod refresh;
mod rotation;
mod sealing;
mod second_factor;
mod service;
mod sessions;
mod throttle;
mod times;
mod tokens;
mod totp;
mod trail;
pub mod usernames;
mod verified;

pub use accounts::{Accounts, Actor, AdminAction, Applied, DEMO_USERS, UserSummary};
pub use clock::{Clock, ManualClock, SystemClock};
pub use device::describe as describe_device;
pub use error::AuthError;
pub use events::{By, EventKind, EventLog, SecurityEvent};
pub use housekeeping::Housekeeping;
pub use keys::{
    ED25519_ADVICE, KeyError, KeyRing, KeySettings, MAX_KID_LEN, Pem, RetiredKey, RetiredMaterial,
    SigningAlgorithm, hs256_key_id, validate_kid,
};
pub use login::LoginStep;
pub use passwords::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, PasswordError, Passwords};
pub use principal::{ClientInfo, CookieCheck, Login, Principal, RefreshGrant, Reissued};
pub use sealing::{Sealer, Unsealable};
pub use second_factor::{TotpSetup, TotpStatus};
pub use service::{Auth, Settings};
pub use throttle::ThrottleSettings;
pub use times::{minutes, rfc3339};
pub use tokens::{
    KeyInfo, MAX_TOKEN_LEN, MAX_TTL_SECS, Minted, TokenError, TokenKeys, TokenSettings, TokenType,
};
pub use totp::TotpSecret;
pub use trail::{DEFAULT_EVENT_LIMIT, EventQuery, MAX_EVENT_LIMIT};
pub use usernames::{MAX_USERNAME_CHARS, UsernameError};
