// Local times. The server renders every moment as
//   <time datetime="2026-11-26T08:12:03Z" title="2026-11-26 08:12:03 UTC">2026-11-26 08:12:03 UTC</time>
// (web::format::When). This script rewrites each to the viewer's local time: relative wording
// within a day ("just now", "3 min ago", "in 4 min", "2 h ago"), else the local date and time to
// the second. The UTC text stays in the title tooltip. Relative texts refresh every 30 s.
// Without JavaScript the UTC text is what people read.
(() => {
  const MINUTE = 60 * 1000;
  const HOUR = 60 * MINUTE;
  const DAY = 24 * HOUR;
  const local = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });

  // `ago` is positive for the past, negative for the future; null beyond a day either way.
  function relative(ago) {
    const size = Math.abs(ago);
    if (size < MINUTE) return "just now";
    if (size >= DAY) return null;
    const [n, unit] = size < HOUR ? [Math.floor(size / MINUTE), "min"] : [Math.floor(size / HOUR), "h"];
    return ago > 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
  }

  function show(el) {
    const at = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(at)) return;
    if (!el.dataset.utc) el.dataset.utc = el.getAttribute("title") || el.textContent;
    const absolute = local.format(at);
    const recent = relative(Date.now() - at);
    el.textContent = recent ?? absolute;
    el.title = recent ? `${absolute} · ${el.dataset.utc}` : el.dataset.utc;
  }

  function showAll() {
    document.querySelectorAll("time[datetime]").forEach(show);
  }

  showAll();
  setInterval(showAll, 30 * 1000);
})();
