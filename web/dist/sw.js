// The console's service worker: the console opens with no network (on a roof, in a basement)
// and what a technician recorded offline is still there to send. Generated into dist/sw.js by
// vite.config.ts, which fills in the build's files; gRPC-Web calls (POST) never touch it.
const FILES = ["/assets/Actions-B5k5PefS.js","/assets/Admin-Bo6QmKgB.js","/assets/Approvals-B2TvXoqk.js","/assets/Archive-CB7oxaes.js","/assets/Board-C1TEwUR2.js","/assets/CallDesk-BhFnDWl9.js","/assets/Case-DKaG5pm_.js","/assets/FileOutlined-GkYF2oyR.js","/assets/Job-DvJ2eSDC.js","/assets/PlanEditor-BWKaUcQN.js","/assets/Stats-BJwY_uJ1.js","/assets/Tickets-B5TpaxjM.js","/assets/Visits-Bih9yxSY.js","/assets/card-Cb_HCGzf.js","/assets/components-IIEEJIt_.js","/assets/date-picker-h33zHEgf.js","/assets/descriptions-B1v4Oh5E.js","/assets/download-BPizDJHO.js","/assets/experience-eybcNkFT.js","/assets/index-CzP7amLA.js","/assets/input-number-DdGkug9m.js","/assets/measure-LxU3iZB3.js","/assets/media-xufFcBKN.js","/assets/plan-DsVyEGL8.js","/assets/progress-DblvYzUJ.js","/assets/row-BkwK-yND.js","/assets/row-D9uqo42m.js","/assets/shell-iAK9rlrb.js","/assets/survey-BoWl-Brt.js","/assets/switch-DH-l0lcv.js","/assets/table-DnP_7G29.js","/assets/useForm-Ccn6NUOl.js","/assets/useMergedMask-CB_4Z7rS.js","/icon-192.png","/icon-512.png","/manifest.webmanifest"];
const CACHE = `steelcare-${"2c2f1e1bd4e838a2"}`;

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
