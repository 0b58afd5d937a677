// Smart Attendance: the camera in the page (an anywidget ES module; its Python side is app/camera.py).
//
// The browser's camera (getUserMedia: the back camera on a phone, or the one chosen) shows a live view. On the
// kernel's "take" message it sends a full-resolution still as JPEG ({type: "photo"}); while `checkin` is on it
// sends a smaller frame every `interval_ms` (a frame is skipped while the last one is still being looked at:
// frames are never queued), and draws the names the kernel puts in `overlay` over the live view. Every fault
// (no camera, permission refused, camera unplugged, the page left open) stops the camera and is reported to
// the kernel ({type: "problem", kind}), which says it in words. No name or text comes from here: the view's
// accessible name is the `label` trait (app/accessible.py).

const MIME = "image/jpeg";

function problemKind(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return "no-camera";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "busy";
    default:
      return "other";
  }
}

function toJpeg(video, longest, quality) {
  const width = video.videoWidth;
  const height = video.videoHeight;
  const scale = longest > 0 ? Math.min(1, longest / Math.max(width, height)) : 1;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no picture"))), MIME, quality);
  });
}

async function fullResolution(track, video) {
  // A phone's camera takes a still larger than its video; elsewhere (or if it fails) the video's own frame.
  if (typeof window.ImageCapture === "function") {
    try {
      const blob = await new window.ImageCapture(track).takePhoto();
      if (blob && blob.size && blob.type === MIME) {
        return blob;
      }
    } catch (error) {
      // fall through to the video frame
    }
  }
  return toJpeg(video, 0, 0.92);
}

function render({ model, el }) {
  const frame = document.createElement("div");
  frame.className = "sa-camera-frame";
  frame.setAttribute("role", "img");
  const video = document.createElement("video");
  video.className = "sa-camera-video";
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.setAttribute("playsinline", "");
  video.setAttribute("aria-hidden", "true");
  const overlay = document.createElement("div");
  overlay.className = "sa-camera-overlay";
  overlay.setAttribute("aria-hidden", "true");
  frame.append(video, overlay);
  el.append(frame);

  let stream = null;
  let opening = null;
  let inflight = false;
  let inflightSince = 0;
  let lastUse = Date.now();
  let timer = null;
  let idleTimer = null;

  function send(content, blob) {
    if (!blob) {
      model.send(content);
      return Promise.resolve();
    }
    return blob.arrayBuffer().then((buffer) => model.send(content, undefined, [new DataView(buffer)]));
  }

  function report(kind, detail) {
    stop();
    send({ type: "problem", kind, detail: String(detail || "") });
  }

  function stop() {
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
    }
    stream = null;
    video.srcObject = null;
    frame.classList.remove("sa-camera-on");
    inflight = false;
  }

  async function open() {
    if (stream || opening) {
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      report(window.isSecureContext ? "unsupported" : "insecure");
      return;
    }
    const chosen = model.get("device_id");
    const size = { width: { ideal: 1920 }, height: { ideal: 1080 } };
    const constraints = {
      audio: false,
      video: chosen ? { deviceId: { exact: chosen }, ...size } : { facingMode: { ideal: "environment" }, ...size },
    };
    opening = navigator.mediaDevices.getUserMedia(constraints);
    try {
      stream = await opening;
    } catch (error) {
      opening = null;
      report(problemKind(error), error && error.message);
      return;
    }
    opening = null;
    if (!model.get("active")) {
      stop();
      return;
    }
    const track = stream.getVideoTracks()[0];
    track.addEventListener("ended", () => {
      if (stream) {
        report("ended");
      }
    });
    video.srcObject = stream;
    try {
      await video.play();
    } catch (error) {
      // autoplay of a muted video is allowed; a refusal shows as a still picture, not a fault
    }
    frame.classList.add("sa-camera-on");
    lastUse = Date.now();
    const devices = (await navigator.mediaDevices.enumerateDevices())
      .filter((device) => device.kind === "videoinput")
      .map((device, k) => [device.label || `Camera ${k + 1}`, device.deviceId]);
    model.set("devices", devices);
    model.save_changes();
    send({ type: "started", width: video.videoWidth, height: video.videoHeight, label: track.label });
  }

  async function takePhoto() {
    if (!stream || !video.videoWidth) {
      send({ type: "problem", kind: "not-ready" });
      return;
    }
    lastUse = Date.now();
    const blob = await fullResolution(stream.getVideoTracks()[0], video);
    await send({ type: "photo", size: blob.size }, blob);
  }

  async function sendFrame() {
    if (!stream || !video.videoWidth || !model.get("checkin")) {
      return;
    }
    if (inflight && Date.now() - inflightSince < 30000) {
      return; // the last frame is still being looked at: skip this one
    }
    inflight = true;
    inflightSince = Date.now();
    lastUse = Date.now();
    try {
      await send({ type: "frame" }, await toJpeg(video, model.get("frame_side"), 0.85));
    } catch (error) {
      inflight = false;
    }
  }

  function drawOverlay() {
    overlay.replaceChildren(
      ...model.get("overlay").map((face) => {
        const box = document.createElement("div");
        box.className = `sa-camera-face sa-camera-${face.kind}`;
        box.style.left = `${face.left * 100}%`;
        box.style.top = `${face.top * 100}%`;
        box.style.width = `${face.width * 100}%`;
        box.style.height = `${face.height * 100}%`;
        const name = document.createElement("span");
        name.className = "sa-camera-name";
        name.textContent = face.text;
        box.append(name);
        return box;
      }),
    );
  }

  function sync() {
    frame.setAttribute("aria-label", model.get("label"));
    frame.classList.toggle("sa-camera-blurred", model.get("blur"));
    if (model.get("active")) {
      open();
    } else {
      stop();
    }
    clearInterval(timer);
    timer = model.get("checkin") ? setInterval(sendFrame, model.get("interval_ms")) : null;
    if (!model.get("checkin")) {
      overlay.replaceChildren();
    }
  }

  function reopen() {
    stop();
    sync();
  }

  function onMessage(msg) {
    if (msg.type === "take") {
      takePhoto().catch((error) => send({ type: "problem", kind: "other", detail: String(error) }));
    } else if (msg.type === "frame-done") {
      inflight = false;
    }
  }

  // A page left open: the camera turns itself off after `idle_minutes` without a photo or a check-in.
  idleTimer = setInterval(() => {
    const idle = model.get("idle_minutes") * 60000;
    if (stream && !model.get("checkin") && idle > 0 && Date.now() - lastUse > idle) {
      report("idle");
    }
  }, 5000);

  model.on("change:active", sync);
  model.on("change:checkin", sync);
  model.on("change:interval_ms", sync);
  model.on("change:blur", sync);
  model.on("change:label", sync);
  model.on("change:device_id", reopen);
  model.on("change:overlay", drawOverlay);
  model.on("msg:custom", onMessage);
  sync();

  return () => {
    clearInterval(timer);
    clearInterval(idleTimer);
    stop();
    model.off("msg:custom", onMessage);
  };
}

export default { render };
