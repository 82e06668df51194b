// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Approvals-Btam2qbS.js","/assets/Archive-BZiRiWJi.js","/assets/Board-C6wKo3ll.js","/assets/CallDesk-COqlUJI8.js","/assets/Case-B4acTr25.js","/assets/FileOutlined-CsUSmk17.js","/assets/Job-Ca3Gp_Ai.js","/assets/PlanEditor-PLxXZuJa.js","/assets/Stats-C1NMqIOp.js","/assets/Tickets-BVrsGhDe.js","/assets/checkbox-C6ULg4kt.js","/assets/collapse-evkw6DSZ.js","/assets/components-Pku3N2zL.js","/assets/date-picker-C7_7dmL9.js","/assets/descriptions-H8TsAeL2.js","/assets/download-Da9Zgsp_.js","/assets/form-Df7vUYDd.js","/assets/index-DOZWipbp.js","/assets/input-number-C0XOLzFA.js","/assets/list-LXtAIhcZ.js","/assets/media-3Dh2Q9Bd.js","/assets/plan-DbeaeD63.js","/assets/progress-rOHVCQA8.js","/assets/row-0k3BLiLe.js","/assets/row-BERBaZHJ.js","/assets/shell-DfgCpQtM.js","/assets/table-B79HnzO3.js","/assets/typography-CmNOC2sE.js","/assets/useForm-2nV71KHb.js","/assets/useMergedMask-AP2gZgMq.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"d86395e7a16c766e"}`;

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
