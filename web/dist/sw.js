// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-ZA2fGHiW.js","/assets/Admin-D9Yh2jcj.js","/assets/Approvals-CkU86vbl.js","/assets/Archive-CZk1cV0H.js","/assets/Board-DmQfVWIN.js","/assets/CallDesk-DVUR5dpX.js","/assets/Case-Dbjm50Qp.js","/assets/FileOutlined-Cvedw8aa.js","/assets/Job-0XEc6SU6.js","/assets/PlanEditor-DkTN6LdM.js","/assets/Stats-Chw7oGwO.js","/assets/Tickets-D6WTBs1p.js","/assets/Visits-Cx883s6v.js","/assets/card-BYsh5Dkx.js","/assets/components-MrLAX7yU.js","/assets/date-picker-DPw62x5n.js","/assets/descriptions-CZoh5ZC9.js","/assets/download-BPizDJHO.js","/assets/experience-BrfZ9a6r.js","/assets/index-eakwcheJ.js","/assets/input-number-yBZT7T59.js","/assets/measure-3YLswKHA.js","/assets/media-BCU5VEFg.js","/assets/plan-y3RcvqqD.js","/assets/progress-6wln_3ah.js","/assets/row-CBUjxTb9.js","/assets/row-uX9IuYZt.js","/assets/shell-BZBmxRh2.js","/assets/survey-BfaK46mm.js","/assets/switch-CTgTmlmB.js","/assets/table-Bj3ehnnd.js","/assets/useForm-Bb6M9iW-.js","/assets/useMergedMask-B0FHjIzH.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"2f094c15a4302823"}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(["/", ...FILES])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("steelcare-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // A page: the network's when there is one (a new build), else the console from the cache.
    event.respondWith(fetch(request).catch(() => caches.match("/", { ignoreVary: true })));
  } else if (url.pathname.startsWith("/assets/")) {
    // Hashed names never change content: the cache first.
    event.respondWith(caches.match(request, { ignoreVary: true }).then((hit) => hit ?? fetch(request)));
  } else {
    event.respondWith(fetch(request).catch(() => caches.match(request, { ignoreVary: true })));
  }
});
