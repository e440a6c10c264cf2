//! The integration tests: the real application, in this process through Rocket's local client
//! (on a clock the tests move) and as the real binary (the server, the CLI, a real browser).
//! One test binary, so everything links once; what the tests share is in `support`.

mod support;

mod api;
mod architecture;
mod audit;
mod cli;
mod pages;
mod second_factor;
mod security;
mod store;
