// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-vOEcjZCd.js","/assets/Admin-CCMiCtDi.js","/assets/Approvals-CWD7k2iX.js","/assets/Archive-DPETacgF.js","/assets/Board-CS-YtuW1.js","/assets/CallDesk-DxHsHuVg.js","/assets/Case-C1_wfJsr.js","/assets/FileOutlined-B47_W-00.js","/assets/Job-HfC6MzHy.js","/assets/PlanEditor-CtXyofab.js","/assets/Stats-BGHRtVuS.js","/assets/Tickets-BYU6684A.js","/assets/Visits-5N8hDLOK.js","/assets/checkbox-0uIFaXqI.js","/assets/collapse-evkw6DSZ.js","/assets/components-KvU1-PIa.js","/assets/date-picker-tsG8r064.js","/assets/descriptions-B2TZ3m9J.js","/assets/download-BPizDJHO.js","/assets/form-D7V1OySh.js","/assets/index-DU6bCJgb.js","/assets/input-CzXCcaqd.js","/assets/input-number-C4ufP0EE.js","/assets/measure-_y3pQJq7.js","/assets/media-dQiQzpeA.js","/assets/plan-Bcijczc6.js","/assets/progress-Bygk7zqM.js","/assets/row-CthDKDsd.js","/assets/row-D3Vm8G64.js","/assets/shell-BQrzwDOL.js","/assets/survey-C9bJRq6E.js","/assets/switch-DMGX49cY.js","/assets/table-DXYK-OcK.js","/assets/time-Cu9ESxj9.js","/assets/useForm-DlO5s86g.js","/assets/useMergedMask-BeILOGdZ.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"85c2647803e8b8f7"}`;

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
