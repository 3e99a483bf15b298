//! Benchmark arm B: holds the request headers while a body follows, lets Envoy buffer the whole
//! body, copies it into the VM once, and continues. No decisions, no logging, no metrics: what is
//! left is the cost every body-inspecting wasm filter pays (VM calls plus one body copy).

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

proxy_wasm::main! {{
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(ReadBody) });
}}

struct ReadBody;

impl Context for ReadBody {}

impl HttpContext for ReadBody {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if end_of_stream {
            Action::Continue
        } else {
            Action::Pause
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        std::hint::black_box(body.len());
        Action::Continue
    }
}
