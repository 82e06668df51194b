// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Approvals-BraLXXXw.js","/assets/Archive-BuBcnF13.js","/assets/Board-JSYvyIGi.js","/assets/CallDesk-K917nrH6.js","/assets/Case-DCqArmGc.js","/assets/FileOutlined-DG7cKy1z.js","/assets/Job-DIYkY10j.js","/assets/PlanEditor-Bdzbk6O1.js","/assets/Stats-Cj6-yA6Q.js","/assets/Tickets-DiuT6WUo.js","/assets/Visits-DEMpzOq7.js","/assets/checkbox-BDjnlrFV.js","/assets/collapse-evkw6DSZ.js","/assets/components-ChFHccnu.js","/assets/date-picker-DKIRjtbi.js","/assets/descriptions-CXzty-xg.js","/assets/download-Da9Zgsp_.js","/assets/form-Bgg3zYV6.js","/assets/index-DpcOb5-7.js","/assets/input-number-B5pvPWdL.js","/assets/list-C9a89Ct5.js","/assets/media-C1mNnewD.js","/assets/plan-6blpibYV.js","/assets/progress-EH7o9jW3.js","/assets/row-7MFajm6J.js","/assets/row-DrWczx_v.js","/assets/shell-CKbDTsj7.js","/assets/survey-CHJEan7D.js","/assets/switch-DtqZVShI.js","/assets/table-Dt3aS56z.js","/assets/typography-BYtdMZwD.js","/assets/useForm-BpnPFJ4b.js","/assets/useMergedMask-nT83FuHs.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"c93b8897285b6c50"}`;

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
