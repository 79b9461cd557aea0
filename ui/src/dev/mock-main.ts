// Entry of mock.html: install the fake Rust side, then start the real app.
import './mock';
import '../main';
