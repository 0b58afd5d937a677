/* Smart Attendance: what ipywidgets 8 gives a page no way to say, added to the widgets' DOM.
 *
 * The dashboard (attendance_core/app/) names its controls with ipywidgets' own traits (description,
 * tooltip, tooltips) and marks the widgets that need more with a class; this script, loaded by the
 * page's Voila template, does only what those traits cannot (docs/dashboard.md, "Accessibility"):
 *
 *   .sa-named         a button whose accessible name is its tooltip, not its visible text
 *                     ("Right: face 3 is Barack Obama" for the button that shows "Right");
 *   .sa-toggle-group  ToggleButtons as a toggle group (ARIA Authoring Practices): role "group" named by
 *                     the widget's tooltip, each button named by its tooltip and aria-pressed, one tab
 *                     stop (roving tabindex), the arrow keys, Home and End move between the buttons;
 *   .widget-slider    the slider's handle named by the slider's description (noUiSlider's handle has
 *                     role "slider" and no name) with its value as shown, and the value's box (which
 *                     can be typed in: contenteditable, no role) a named text box;
 *   .sa-live          a polite live region (role "status"); .sa-alert an assertive one (role "alert");
 *   i.fa              Font Awesome icons hidden from screen readers (decoration beside a text).
 *
 * The widgets redraw their DOM at any time: a MutationObserver applies the same (idempotent) patch
 * after every change. No data comes from here: every name is computed in Python (app/accessible.py).
 */
(function () {
  'use strict';

  function set(el, name, value) {
    if (el.getAttribute(name) !== value) {
      el.setAttribute(name, value);
    }
  }

  function nameFromTitle(el) {
    var title = el.getAttribute('title');
    if (title) {
      set(el, 'aria-label', title);
    }
  }

  function groupButtons(group) {
    return Array.prototype.slice.call(group.querySelectorAll('button'));
  }

  function toggleGroup(group) {
    set(group, 'role', 'group');
    var label = group.querySelector(':scope > .widget-label');
    if (label && label.title) {
      set(group, 'aria-label', label.title);
    }
    var buttons = groupButtons(group);
    var focused = null;
    var pressed = null;
    buttons.forEach(function (button) {
      nameFromTitle(button);
      var on = button.classList.contains('mod-active');
      set(button, 'aria-pressed', on ? 'true' : 'false');
      if (on) {
        pressed = button;
      }
      if (button === document.activeElement) {
        focused = button;
      }
    });
    // One tab stop per group: the button with focus, else the pressed one, else the first.
    var stop = focused || pressed || buttons[0];
    buttons.forEach(function (button) {
      set(button, 'tabindex', button === stop ? '0' : '-1');
    });
  }

  function slider(widget) {
    var label = widget.querySelector(':scope > .widget-label');
    var name = label ? label.textContent.trim() : '';
    var handle = widget.querySelector('.noUi-handle');
    var readout = widget.querySelector('.widget-readout');
    if (!name || !handle) {
      return;
    }
    set(handle, 'aria-label', name);
    if (readout) {
      // The value as shown (0.58), and the shown value's box, which can be typed in, as a named text box.
      set(handle, 'aria-valuetext', readout.textContent.trim());
      set(readout, 'role', 'textbox');
      set(readout, 'aria-label', name + ', typed');
    }
  }

  function patch() {
    document.querySelectorAll('.sa-named').forEach(nameFromTitle);
    document.querySelectorAll('.sa-toggle-group').forEach(toggleGroup);
    document.querySelectorAll('.sa-app .widget-slider').forEach(slider);
    document.querySelectorAll('.sa-live').forEach(function (el) {
      set(el, 'role', 'status');
      set(el, 'aria-live', 'polite');
      set(el, 'aria-atomic', 'true');
    });
    document.querySelectorAll('.sa-alert').forEach(function (el) {
      set(el, 'role', 'alert');
      set(el, 'aria-atomic', 'true');
    });
    document.querySelectorAll('.sa-app i.fa').forEach(function (el) {
      set(el, 'aria-hidden', 'true');
    });
  }

  var KEYS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

  function onKeyDown(event) {
    var button = event.target;
    var group = button && button.closest && button.closest('.sa-toggle-group');
    if (!group || button.tagName !== 'BUTTON' || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var buttons = groupButtons(group).filter(function (b) { return !b.disabled; });
    var at = buttons.indexOf(button);
    var next;
    if (event.key in KEYS) {
      next = buttons[(at + KEYS[event.key] + buttons.length) % buttons.length];
    } else if (event.key === 'Home') {
      next = buttons[0];
    } else if (event.key === 'End') {
      next = buttons[buttons.length - 1];
    }
    if (next) {
      event.preventDefault();
      next.focus();
      toggleGroup(group);
    }
  }

  var scheduled = false;
  function schedule() {
    if (!scheduled) {
      scheduled = true;
      window.requestAnimationFrame(function () {
        scheduled = false;
        patch();
      });
    }
  }

  new MutationObserver(function () {
    // At once (so that a screen reader never meets an unnamed control), and once more after the frame.
    patch();
    schedule();
  }).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ['class', 'title', 'disabled', 'aria-valuetext']
  });
  document.addEventListener('keydown', onKeyDown, true);
  document.addEventListener('focusin', function (event) {
    var group = event.target.closest && event.target.closest('.sa-toggle-group');
    if (group) {
      toggleGroup(group);
    }
  });
})();
