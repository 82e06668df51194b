// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Approvals-rAQAU_Aj.js","/assets/Archive-BR4deAlN.js","/assets/Board-FDK7RBN2.js","/assets/CallDesk-C5_c1OSf.js","/assets/Case-BbQV83xg.js","/assets/FileOutlined-D3OTCh5f.js","/assets/Job-C650VZur.js","/assets/Stats-CR2O89AI.js","/assets/Tickets-pV8sY88Q.js","/assets/checkbox-Bobq0foJ.js","/assets/collapse-evkw6DSZ.js","/assets/components-BPwPMvjL.js","/assets/date-picker-B0Vuj96X.js","/assets/descriptions-B8nvXuFo.js","/assets/download-Da9Zgsp_.js","/assets/form-BQdfUES6.js","/assets/index-Cpd8by6e.js","/assets/list-DoWgMdze.js","/assets/media-Cn1e3lh1.js","/assets/progress-DY7vZEtk.js","/assets/row-CSCgcLK3.js","/assets/row-FmeLcI1v.js","/assets/shell-CVN67-Y3.js","/assets/table-B55eASEx.js","/assets/typography-BOpaIeTU.js","/assets/useForm-Rk_4gj5F.js","/assets/useMergedMask-DqysQppV.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"6e545a6e38bbddb1"}`;

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
