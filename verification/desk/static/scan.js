// The desk's QR scanner: where the browser has BarcodeDetector and a
// camera, «Сканировать QR-код» reads the citizen's code off their phone
// into the code field and submits it. Elsewhere the button stays hidden
// and the operator types the code. No inline script: the CSP forbids it.
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    var button = document.getElementById('scan');
    var video = document.getElementById('scan-video');
    var field = document.getElementById('code');
    var status = document.getElementById('scan-status');
    if (!button || !video || !field || !('BarcodeDetector' in window) || !navigator.mediaDevices) {
      return;
    }
    button.hidden = false;
    button.addEventListener('click', function () {
      var detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        return video.play().then(function () {
          var tick = function () {
            detector.detect(video).then(function (codes) {
              if (codes.length > 0) {
                stream.getTracks().forEach(function (t) { t.stop(); });
                video.hidden = true;
                field.value = codes[0].rawValue;
                field.form.submit();
                return;
              }
              window.requestAnimationFrame(tick);
            }, function () { window.requestAnimationFrame(tick); });
          };
          tick();
        });
      }).catch(function () {
        status.textContent = button.getAttribute('data-nocamera') || '';
      });
    });
  });
})();
