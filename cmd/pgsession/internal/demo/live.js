// live.js keeps the page's session list current. It listens to this node's
// event stream (GET /api/events), whose notices say only that the user's
// sessions changed, on either node; at each one it reads the list again
// (GET /api/sessions) and redraws it. The list thus has one source, the
// API, and a lost or repeated notice costs a read, never a wrong row.
// Without script the page works as before, only not live.
"use strict";

(() => {
	const table = document.getElementById("sessions");
	const status = document.getElementById("live");
	if (!table || !status || !window.EventSource) {
		return;
	}

	const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
	const two = (n) => String(n).padStart(2, "0");

	// when writes a time as the server does (pages.go): the time of day,
	// and the date too when it is not today.
	function when(iso) {
		const t = new Date(iso);
		if (isNaN(t) || t.getFullYear() <= 1) {
			return "—";
		}
		const hm = two(t.getHours()) + ":" + two(t.getMinutes());
		if (t.toDateString() === new Date().toDateString()) {
			return hm + ":" + two(t.getSeconds());
		}
		return months[t.getMonth()] + " " + t.getDate() + " " + hm;
	}

	function element(tag, props) {
		return Object.assign(document.createElement(tag), props);
	}

	// row draws one session as page.html does. Everything goes in as text,
	// never as markup: the user agent is whatever the client said.
	function row(s) {
		const tr = element("tr");
		tr.dataset.id = s.id;
		const action = element("td");
		if (s.current) {
			action.append(element("span", {className: "current", textContent: "this device"}));
		} else {
			const form = element("form", {method: "post", action: "/revoke"});
			form.append(
				element("input", {type: "hidden", name: "id", value: s.id}),
				element("button", {className: "small danger", textContent: "Revoke"}),
			);
			action.append(form);
		}
		tr.append(
			element("td", {className: "device", title: s.user_agent, textContent: s.device}),
			element("td", {textContent: s.ip}),
			element("td", {textContent: when(s.created)}),
			element("td", {textContent: when(s.last_seen)}),
			action,
		);
		return tr;
	}

	// done is set once the page is on its way out: its session has ended,
	// or one of its forms was sent, whose answer replaces the page. From
	// then on nothing is redrawn, and above all the page does not go to the
	// log-in form by itself: after "Log out everywhere" the form's own
	// answer, which says what happened, must win.
	let done = false;
	function stop() {
		done = true;
		events.close();
	}

	// load reads the list and redraws it. A 401 means this very session
	// has ended: the page goes back to the log-in form.
	async function load() {
		const resp = await fetch("/api/sessions", {cache: "no-store"});
		if (done) {
			return;
		}
		if (resp.status === 401) {
			stop();
			location.replace("/?m=ended");
			return;
		}
		if (!resp.ok) {
			throw new Error("GET /api/sessions: " + resp.status);
		}
		const list = await resp.json();
		if (!done) {
			table.tBodies[0].replaceChildren(...list.map(row));
		}
	}

	// refresh runs load, never two at once, and once more when notices came
	// in meanwhile: a burst of them costs two reads, and an older answer
	// never replaces a newer one.
	let running = false;
	let again = false;
	async function refresh() {
		if (running) {
			again = true;
			return;
		}
		running = true;
		try {
			do {
				again = false;
				await load();
			} while (again && !done);
		} catch (err) {
			console.warn("session list:", err);
		} finally {
			running = false;
		}
	}

	const says = {
		open: "Live: sessions you start or end elsewhere, on either node, show up here at once.",
		connecting: "Reconnecting to this node for live updates…",
		closed: "Live updates have stopped: reload the page to see changes.",
	};
	function show(state) {
		status.dataset.state = state;
		status.textContent = says[state];
		status.hidden = false;
	}

	const events = new EventSource("/api/events");
	// Every (re)connection reads the list once: what changed before the
	// stream opened is in it, what changes later comes as notices.
	events.onopen = () => {
		show("open");
		refresh();
	};
	events.onmessage = () => refresh();
	events.onerror = () => {
		if (done) {
			return;
		}
		// EventSource reconnects by itself, unless the node refused the
		// stream, as it does once the session has ended: the read then
		// tells.
		if (events.readyState === EventSource.CLOSED) {
			show("closed");
			refresh();
		} else {
			show("connecting");
		}
	};
	document.addEventListener("submit", stop);
})();
