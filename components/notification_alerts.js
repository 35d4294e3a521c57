// What only the browser can do for notices: a short beep, the Notification permission, desktop notices.
// Loaded once per page by components/notification_toasts.py; Python calls window.scAlerts.*.
window.scAlerts = window.scAlerts || {
  audio: null,

  // Only a path of this site is followed: a notice's link never becomes a "javascript:" URL or another host.
  sameSitePath(link) {
    return typeof link === "string" && /^\/(?![\/\\])[^\s]*$/.test(link);
  },

  // A short WebAudio beep (no sound file): a high one for results, a low double one for failures.
  beep(level) {
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return false;
      this.audio = this.audio || new Context();
      const ctx = this.audio;
      if (ctx.state === "suspended") ctx.resume();
      const tones = level === "negative" ? [330, 262] : [880];
      tones.forEach((frequency, index) => {
        const start = ctx.currentTime + index * 0.16;
        const oscillator = ctx.createOscillator();
        const gain = ctx.createGain();
        oscillator.type = "sine";
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.08, start + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.14);
        oscillator.connect(gain).connect(ctx.destination);
        oscillator.start(start);
        oscillator.stop(start + 0.15);
      });
      return true;
    } catch (error) {
      return false;
    }
  },

  // "granted" | "denied" | "default" | "unsupported"
  permission() {
    return "Notification" in window ? Notification.permission : "unsupported";
  },

  // Asks the browser (it shows its own question once; later calls answer at once with the choice made).
  async request() {
    if (!("Notification" in window)) return "unsupported";
    try {
      return await Notification.requestPermission();
    } catch (error) {
      return Notification.permission;
    }
  },

  // A desktop notice, only while this tab is hidden and the browser allows it. `tag` makes the
  // browser replace rather than stack a notice that several open tabs show at once.
  desktop(notice) {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return false;
    const shown = new Notification(notice.title, { body: notice.body || "", tag: notice.tag, icon: "/favicon.ico" });
    shown.onclick = () => {
      window.focus();
      if (this.sameSitePath(notice.link)) window.location.href = notice.link;
      shown.close();
    };
    return true;
  },
};
